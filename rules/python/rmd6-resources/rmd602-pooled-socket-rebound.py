"""Semgrep test for rmd602-pooled-socket-rebound: cases drawn from RMD602's examples."""

# ---- invalid example 0
import zmq

def get_rep_socket(endpoint, bind=True):
    sock = zmq.Context.instance().socket(zmq.REP)
    if bind:
        sock.bind(endpoint)
    return sock

class EmotionEngine:
    def __init__(self, port):
        self.port = port
        self.socket = get_rep_socket(f"tcp://*:{port}")
        # ruleid: rmd602-pooled-socket-rebound
        self.socket.bind(f"tcp://*:{port}")


# ---- invalid example 1
from common.pools.zmq_pool import get_pub_socket

class ErrorPublisher:
    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.pub_socket = get_pub_socket(endpoint)
        # ruleid: rmd602-pooled-socket-rebound
        self.pub_socket.connect(self.endpoint)


# ---- invalid example 2
import zmq

class FaceRecognitionAgent:
    def __init__(self):
        self.context = zmq.Context()
        self.context = None

    def start(self):
        # a class that also assigns a real context cannot be told apart (see RMD602's limitations)
        # todoruleid: rmd602-pooled-socket-rebound
        self.socket = self.context.socket(zmq.REP)


# ---- invalid example 3
import zmq

def serve(port):
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REP)
    sock.bind(f"tcp://*:{port}")
    sock.setsockopt(zmq.LINGER, 0)
    # ruleid: rmd602-pooled-socket-rebound
    sock.bind(f"tcp://*:{port}")


# ---- invalid example 4
import zmq

class Executor:
    def __init__(self):
        self.context = zmq.Context()

    def restart(self):
        self.context = None
        # ruleid: rmd602-pooled-socket-rebound
        sock = self.context.socket(zmq.REP)
        return sock


# ---- valid example 0
import zmq

# ok: rmd602-pooled-socket-rebound
class EmotionEngine:
    def __init__(self, port):
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.REP)
        self.socket.bind(f"tcp://*:{port}")


# ---- valid example 1
import zmq

# ok: rmd602-pooled-socket-rebound
def get_pub_socket(endpoint, bind=True):
    sock = zmq.Context.instance().socket(zmq.PUB)
    if bind:
        sock.bind(endpoint)
    return sock

class ErrorPublisher:
    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.pub = get_pub_socket(endpoint, bind=False)
        self.pub.connect(self.endpoint)


# ---- valid example 2
import zmq

# ok: rmd602-pooled-socket-rebound
def get_req_socket(endpoint):
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.connect(endpoint)
    return sock

def client(endpoint):
    sock = get_req_socket(endpoint)
    sock.connect(endpoint + "-backup")
    return sock


# ---- valid example 3
import zmq

# ok: rmd602-pooled-socket-rebound
class Agent:
    def __init__(self):
        self.context = None

    def start(self):
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.REP)
        self.socket.bind("tcp://*:5555")

    def stop(self):
        self.socket.close()
        self.context.term()
        self.context = None


# ---- valid example 4
import zmq

# ok: rmd602-pooled-socket-rebound
def serve(ports):
    ctx = zmq.Context.instance()
    for port in ports:
        sock = ctx.socket(zmq.REP)
        sock.bind(f"tcp://*:{port}")
