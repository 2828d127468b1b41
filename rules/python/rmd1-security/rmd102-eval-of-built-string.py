# ---- INVALID example 0 ----
import logging

logger = logging.getLogger(__name__)

class AlertManager:
    def __init__(self, rules):
        self.rules = rules

    def check(self, name: str, value: float) -> bool:
        rule = self.rules[name]
        # ruleid: rmd102-eval-of-built-string
        if eval(f"{value} {rule.condition}"):
            logger.warning("alert %s fired at %s", name, value)
            return True
        return False


# ---- INVALID example 1 ----
import operator

def crossed(current, op, threshold):
    # ruleid: rmd102-eval-of-built-string
    return eval(f"{current} {op} {threshold}")


# ---- INVALID example 2 ----
def run_hook(payload: dict):
    # ruleid: rmd102-eval-of-built-string
    exec(payload["code"])


# ---- INVALID example 3 ----
import builtins

def compute(expression: str, variables: dict):
    # ruleid: rmd102-eval-of-built-string
    return builtins.eval("(" + expression + ")", {"__builtins__": {}}, variables)


# ---- INVALID example 4 ----
async def apply_rule(metric, rule):
    template = "{} {}".format(metric.value, rule["condition"])
    # ruleid: rmd102-eval-of-built-string
    return eval(template)


# ---- INVALID example 5 ----
class Collector:
    def evaluate_all(self, values, conditions):
        # ruleid: rmd102-eval-of-built-string
        return [eval(f"{v}{c}") for v, c in zip(values, conditions)]


# ---- VALID example 0 ----
# ok: rmd102-eval-of-built-string
import operator
import re

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}

class AlertManager:
    def _triggered(self, value: float, condition: str) -> bool:
        match = re.fullmatch(r"\s*(<=|>=|==|<|>)\s*([-+0-9.eE]+)\s*", condition)
        if match is None:
            raise ValueError(f"bad alert condition {condition!r}")
        return _OPS[match.group(1)](value, float(match.group(2)))


# ---- VALID example 1 ----
# ok: rmd102-eval-of-built-string
import ast

def parse_threshold(raw: str):
    return ast.literal_eval(raw)


# ---- VALID example 2 ----
# ok: rmd102-eval-of-built-string
import torch

def evaluate(model: torch.nn.Module, batch):
    model.eval()
    with torch.no_grad():
        return model(batch)


# ---- VALID example 3 ----
# ok: rmd102-eval-of-built-string
SQUARES = eval("[n * n for n in range(10)]")
exec("import sys")


# ---- VALID example 4 ----
# ok: rmd102-eval-of-built-string
from sympy import sympify as eval

def simplify(expr: str):
    return eval(expr)


# ---- VALID example 5 ----
# ok: rmd102-eval-of-built-string
class Expression:
    def eval(self, env):
        return env[self.name]

def run(expr, env):
    return expr.eval(env)

