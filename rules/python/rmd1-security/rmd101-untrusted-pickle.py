import io
import json
import pickle
import pickle as pk
from pickle import loads

import dill
import joblib
import zmq


def on_message(sock):
    data = sock.recv()
    # ruleid: rmd101-untrusted-pickle
    return pickle.loads(data)


class StreamingInterruptHandler:
    def _on_frames(self, frames):
        header, payload = frames
        # ruleid: rmd101-untrusted-pickle
        return pk.loads(payload)


async def handle(request):
    body = await request.body()
    # ruleid: rmd101-untrusted-pickle
    return loads(body)


def serve(socket):
    # ruleid: rmd101-untrusted-pickle
    request = socket.recv_pyobj()
    # ruleid: rmd101-untrusted-pickle
    socket.send_pyobj({"ok": True, "echo": request})


def restore(blob):
    # ruleid: rmd101-untrusted-pickle
    return pickle.Unpickler(io.BytesIO(blob)).load()


def load_all(path, raw):
    # ruleid: rmd101-untrusted-pickle
    model = joblib.load(path)
    # ruleid: rmd101-untrusted-pickle
    hook = dill.loads(raw)
    return model, hook


def handle_json(sock: zmq.Socket) -> dict:
    # ok: rmd101-untrusted-pickle
    message = json.loads(sock.recv())
    if not isinstance(message, dict) or "audio" not in message:
        raise ValueError("bad message")
    return message


def snapshot(state) -> bytes:
    # ok: rmd101-untrusted-pickle
    return pickle.dumps(state)


# ok: rmd101-untrusted-pickle
EMPTY = pickle.loads(b"\x80\x04N.")


class Model:
    def load(self, path):
        return path


model = Model()
# ok: rmd101-untrusted-pickle
weights = model.load("weights.bin")


def reply(socket, payload):
    # ok: rmd101-untrusted-pickle
    socket.send_json(payload)
    # ok: rmd101-untrusted-pickle
    return socket.recv_json()
