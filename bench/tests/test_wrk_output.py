"""bench/loadrun.py's reading of wrk's report, on wrk 4.1's own output."""

import pytest

from bench.wrk_output import parse_wrk

# Captured from `wrk -t2 -c4 -d1s --latency --timeout 10s` (wrk 4.1.0).
CAPTURED = """\
Running 1s test @ http://127.0.0.1:18431/
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.43ms    7.53ms  43.14ms   84.37%
    Req/Sec   350.25    168.91   690.00     65.00%
  Latency Distribution
     50%    3.50ms
     75%   10.82ms
     90%   18.05ms
     99%   33.30ms
  702 requests in 1.02s, 132.31KB read
Requests/sec:    689.03
Transfer/sec:    129.87KB
"""
# The same run with the "+/- Stdev" figures of runs that printed "Latency" or "Req/Sec" for a
# percentile: each ends in "50%" or "99%", and the next word is on the following line.
REQ_SEC_ENDS_IN_50 = CAPTURED.replace("65.00%", "62.50%")
LATENCY_ENDS_IN_99 = CAPTURED.replace("84.37%", "87.99%")
WITH_ERRORS = CAPTURED.replace("Requests/sec:", "  Non-2xx or 3xx responses: 351\nRequests/sec:")


@pytest.mark.parametrize("output", [CAPTURED, REQ_SEC_ENDS_IN_50, LATENCY_ENDS_IN_99])
def test_the_percentiles_come_from_the_latency_distribution(output):
    assert parse_wrk(output) == {"rps": 689.03, "p50": "3.50ms", "p99": "33.30ms", "errors": "0%"}


def test_non_2xx_answers_are_a_share_of_the_requests():
    assert parse_wrk(WITH_ERRORS)["errors"] == "50.0%"


def test_output_without_a_latency_distribution_says_so():
    with pytest.raises(ValueError, match="50%"):
        parse_wrk(CAPTURED.replace("     50%    3.50ms\n", ""))
