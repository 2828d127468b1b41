"""Semgrep test for rmd711-hand-parsed-url: cases drawn from RMD711's examples."""

# ---- invalid example 0
class ResourceMonitor:
    def _split(self, url: str) -> tuple[str, int]:
        # ruleid: rmd711-hand-parsed-url
        host_port = url.split("://", 1)[1].split("/", 1)[0]
        # ruleid: rmd711-hand-parsed-url
        host, _, port = host_port.partition(":")
        return host, int(port or 80)


# ---- invalid example 1
def image_name(image_url):
    # ruleid: rmd711-hand-parsed-url
    return image_url.rsplit("/", 1)[-1]


# ---- invalid example 2
class OllamaTool:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def port(self) -> int:
        # ruleid: rmd711-hand-parsed-url
        return int(self.base_url.split(":")[-1])


# ---- invalid example 3
def scheme_of(address: str) -> str:
    # ruleid: rmd711-hand-parsed-url
    scheme, _, rest = address.partition("://")
    return scheme


# ---- invalid example 4
def strip_query(endpoint: str) -> str:
    # ruleid: rmd711-hand-parsed-url
    return endpoint.split("?")[0]


# ---- valid example 0
from urllib.parse import urlsplit

# ok: rmd711-hand-parsed-url
def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "localhost", parts.port or 80


# ---- valid example 1
import httpx

# ok: rmd711-hand-parsed-url
def base(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}"


# ---- valid example 2
# ok: rmd711-hand-parsed-url
def parse_header(line: str) -> tuple[str, str]:
    key, _, value = line.partition(":")
    return key.strip(), value.strip()

def words(text: str) -> list[str]:
    return text.split("/")


# ---- valid example 3
# ok: rmd711-hand-parsed-url
def build(host: str, port: int) -> str:
    return "http://" + host + ":" + str(port)

def module_path(name: str) -> list[str]:
    return name.rsplit(".", 1)
