"""Deserialisers that run code from their input (pickle and friends)."""

#: qualified call names that unpickle their argument
PICKLE_LOADERS: frozenset[str] = frozenset(
    {
        "pickle.loads", "pickle.load", "_pickle.loads", "_pickle.load", "cPickle.loads", "cPickle.load",
        "dill.loads", "dill.load", "joblib.load", "pandas.read_pickle", "cloudpickle.loads", "cloudpickle.load",
        "pickle.Unpickler", "_pickle.Unpickler", "cPickle.Unpickler", "dill.Unpickler",
    }
)

#: modules whose ``loads`` takes bytes or str and can be swapped for ``json.loads`` by the unsafe fix
PICKLE_MODULES_WITH_LOADS: frozenset[str] = frozenset({"pickle", "_pickle", "cPickle", "dill", "cloudpickle"})

#: zmq socket methods that pickle under the hood, and their JSON counterparts
ZMQ_PICKLE_METHODS: dict[str, str] = {"recv_pyobj": "recv_json", "send_pyobj": "send_json"}

#: method names whose result is bytes from the network or a request (for the message)
UNTRUSTED_SOURCES: frozenset[str] = frozenset(
    {"recv", "recv_multipart", "recvfrom", "recv_string", "recv_bytes", "read", "body", "get_data", "readexactly", "recv_into"}
)
