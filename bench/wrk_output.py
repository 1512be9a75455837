"""Reading wrk's --latency report: requests/s, p50, p99 and the share of non-2xx answers.

Each figure is read from its own line. A search for "50%" anywhere would also match the end of a
"+/- Stdev" column (`Req/Sec ... 62.50%`) and take the next word, "Latency", for the p50.
"""

import re


def _line_value(pattern: str, output: str) -> str:
    match = re.search(pattern, output, re.MULTILINE)
    if match is None:
        raise ValueError(f"wrk's output has no line matching {pattern!r}:\n{output}")
    return match.group(1)


def parse_wrk(output: str) -> dict:
    requests = int(_line_value(r"^\s*(\d+) requests in ", output))
    non_2xx = re.search(r"^\s*Non-2xx or 3xx responses: (\d+)\s*$", output, re.MULTILINE)
    return {
        "rps": float(_line_value(r"^Requests/sec:\s+([\d.]+)\s*$", output)),
        "p50": _line_value(r"^\s*50%\s+(\S+)\s*$", output),
        "p99": _line_value(r"^\s*99%\s+(\S+)\s*$", output),
        "errors": f"{int(non_2xx.group(1)) / requests:.1%}" if non_2xx else "0%",
    }
