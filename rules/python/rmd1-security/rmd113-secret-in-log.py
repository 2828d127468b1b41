import logging
import logging as lg

import structlog

logger = logging.getLogger(__name__)
log = logging.getLogger("harness")
slog = structlog.get_logger()


def _redact(value: str) -> str:
    return value[:4] + "..." if value else "<unset>"


def call_provider_redacted(api_key: str, prompt: str) -> None:
    # ok: rmd113-secret-in-log
    logger.info("calling provider with key %s (%d prompt chars)", _redact(api_key), len(prompt))


def report_usage(max_tokens: int, token_count: int, tokens: list) -> None:
    # ok: rmd113-secret-in-log
    logging.info("used %d of %d tokens (%d chunks)", token_count, max_tokens, len(tokens))


def show(config: dict, key: str) -> None:
    # ok: rmd113-secret-in-log
    print(f"{key} = {config[key]}")
    # ok: rmd113-secret-in-log
    print("token set:", config.get("token") is not None)


def send_clean(client, prompt: str, api_key: str):
    request = {"model": "m", "prompt": prompt}
    # ok: rmd113-secret-in-log
    log.debug("request: %s", request)
    return client.post(request, headers={"Authorization": f"Bearer {api_key}"})


def call_provider(api_key: str, prompt: str) -> None:
    # ruleid: rmd113-secret-in-log
    logger.debug("calling provider with key %s", api_key)


class Harness:
    def run(self, prompt: str) -> None:
        # ruleid: rmd113-secret-in-log
        lg.info(f"running agent with token={self.access_token} prompt={prompt!r}")


def send(client, prompt: str, key: str):
    request = {"model": "m", "prompt": prompt, "api_key": key}
    # ruleid: rmd113-secret-in-log
    log.debug("request: %s", request)
    return client.post(request)


def login(session, settings):
    # ruleid: rmd113-secret-in-log
    print("connecting with password", settings["db_password"])
    # ruleid: rmd113-secret-in-log
    print("headers:", session.headers)


async def refresh(client, refresh_token: str):
    # ruleid: rmd113-secret-in-log
    slog.warning("refresh failed", token=refresh_token)


def lengths(password: str, token: str) -> None:
    # ok: rmd113-secret-in-log
    logger.info("password length %d, token prefix %s", len(password), token[:4])
