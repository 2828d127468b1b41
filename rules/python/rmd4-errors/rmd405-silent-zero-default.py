"""Semgrep test for rmd405-silent-zero-default: cases drawn from RMD405's examples."""

# ---- invalid example 0
MODEL_PRICING = {"claude-sonnet": {"input": 3.0, "output": 15.0}}

def calculate_cost(model, input_tokens, output_tokens):
    # ruleid: rmd405-silent-zero-default
    pricing = MODEL_PRICING.get(model, {"input": 0.0, "output": 0.0})
    return (input_tokens * pricing["input"] + output_tokens * pricing["output"]) / 1_000_000


# ---- invalid example 1
from backend.config import MODEL_PRICING as pricing_table

def input_cost(model, tokens):
    # ruleid: rmd405-silent-zero-default
    return tokens * pricing_table.get(model, {}).get("input", 0) / 1e6


# ---- invalid example 2
class Billing:
    def __init__(self, rates):
        self._token_rates = rates

    def charge(self, model, tokens):
        # ruleid: rmd405-silent-zero-default
        return tokens * self._token_rates.get(model, 0.0)


# ---- invalid example 3
from decimal import Decimal

GPU_COSTS = {"a100": Decimal("1.10")}

async def hourly(gpu):
    # ruleid: rmd405-silent-zero-default
    return GPU_COSTS.get(gpu, Decimal("0"))


# ---- invalid example 4
def fee(settings, kind):
    # ruleid: rmd405-silent-zero-default
    return settings.transferFees.get(kind, 0)


# ---- valid example 0
import logging

# ok: rmd405-silent-zero-default
logger = logging.getLogger(__name__)

MODEL_PRICING = {"claude-sonnet": {"input": 3.0, "output": 15.0}}
_warned_models: set[str] = set()

def calculate_cost(model, input_tokens, output_tokens):
    if model not in MODEL_PRICING:
        if model not in _warned_models:
            _warned_models.add(model)
            logger.warning("Unknown model '%s' - cost will be recorded as $0.00", model)
        return 0.0
    pricing = MODEL_PRICING.get(model, {})
    return (input_tokens * pricing.get("input", 0) + output_tokens * pricing.get("output", 0)) / 1e6


# ---- valid example 1
# ok: rmd405-silent-zero-default
MODEL_PRICING = {"gpt-4o": (2.5, 10.0)}

def calculate_cost(model, tokens_in, tokens_out):
    price_in, price_out = MODEL_PRICING[model]
    return (tokens_in * price_in + tokens_out * price_out) / 1e6


# ---- valid example 2
# ok: rmd405-silent-zero-default
RATE_LIMITS = {"free": 10}
usage_counts = {}

def allowed(plan, user):
    return usage_counts.get(user, 0) < RATE_LIMITS.get(plan, 0)


# ---- valid example 3
# ok: rmd405-silent-zero-default
def price_of(prices, sku):
    price = prices.get(sku)
    if price is None:
        raise KeyError(f"no price for {sku}")
    return price


# ---- valid example 4
# ok: rmd405-silent-zero-default
def total(order, prices):
    return sum(prices.get(item, 1.0) * qty for item, qty in order.items())
