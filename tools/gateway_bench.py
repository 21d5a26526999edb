#!/usr/bin/env python3
"""A small load of Open311 traffic against a running whistle-gateway (docs/GATEWAY.md, "Measured").

  python3 tools/gateway_bench.py CITY_JSON [--port=8311] [--key=API_KEY] [--clients=4] [--per-client=500]

CITY_JSON is the city the gateway serves, as JSON (whistle-gencity --out=city.json for the sample).
Reports go to random grids and categories so that duplicate detection does not fold them together.
Closed loop: each client sends its next request when the last is answered (http.client connects
again for each, as the gateway closes a connection after its answer). The client runs on the same
machine, so the figures are a lower bound.
"""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))] * 1000


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith('--'):
        sys.exit(__doc__)
    args = dict(a[2:].split('=', 1) for a in sys.argv[2:] if a.startswith('--') and '=' in a)
    city = json.load(open(sys.argv[1]))
    grids = [r['code'] for r in city['regions'] if r.get('level') == 'LEVEL_GRID']
    categories = [c['code'] for c in city['categories']]
    port = int(args.get('port', 8311))
    key = args.get('key', 'CHANGE-ME-citizen-app-key')
    per_client = int(args.get('per-client', 500))
    clients = int(args.get('clients', 4))

    latencies, ids, lock = [], set(), threading.Lock()

    def client(k):
        connection = http.client.HTTPConnection('127.0.0.1', port)
        rnd = random.Random(k)
        mine = []
        for i in range(per_client):
            body = urllib.parse.urlencode({'api_key': key, 'service_code': rnd.choice(categories),
                                           'address_id': rnd.choice(grids),
                                           'description': f'report {k}-{i}'})
            start = time.perf_counter()
            connection.request('POST', '/open311/v2/requests.json', body,
                               {'Content-Type': 'application/x-www-form-urlencoded'})
            answer = connection.getresponse()
            text = answer.read()
            mine.append(time.perf_counter() - start)
            if answer.status != 201:
                raise SystemExit(f'POST answered {answer.status}: {text[:200]}')
            with lock:
                ids.add(json.loads(text)[0]['service_request_id'])
        with lock:
            latencies.extend(mine)

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    print(f'POST requests, {clients} clients closed loop: {len(latencies)} ({len(ids)} distinct events) '
          f'in {elapsed:.2f} s = {len(latencies) / elapsed:.0f}/s; '
          f'p50 {percentile(latencies, 0.5):.2f} ms p99 {percentile(latencies, 0.99):.2f} ms')

    connection = http.client.HTTPConnection('127.0.0.1', port)
    gets = []
    for _ in range(1000):
        t = time.perf_counter()
        connection.request('GET', f'/open311/v2/requests/{random.choice(sorted(ids))}.json')
        connection.getresponse().read()
        gets.append(time.perf_counter() - t)
    gets.sort()
    print(f'GET requests/{{id}} (with history): p50 {percentile(gets, 0.5):.2f} ms '
          f'p99 {percentile(gets, 0.99):.2f} ms')
    searches = []
    for _ in range(20):
        t = time.perf_counter()
        connection.request('GET', '/open311/v2/requests.json')
        text = connection.getresponse().read()
        searches.append(time.perf_counter() - t)
    searches.sort()
    print(f'GET requests (the defaults: the newest 1,000 of {len(ids)}): p50 {percentile(searches, 0.5):.1f} ms, '
          f'{len(json.loads(text))} results, {len(text)} bytes')


if __name__ == '__main__':
    main()
