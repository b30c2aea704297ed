#!/usr/bin/env python3
"""tests/integration/ops/metrics_check.py: checks of tests/integration/metrics.sh.

  metrics_check.py format METRICS_FILE
      the Prometheus text exposition is well formed: HELP and TYPE once per family before its
      samples, valid names and labels, counters end in _total, histograms have cumulative
      buckets ending in +Inf == _count, no series twice.
  metrics_check.py agree STATS_JSON CLI_JSON METRICS_FILE
      pgpool_stats(), `pgpool-cli --json pools` and /metrics show the same numbers per pool.
Prints what it compared; exits 1 with the differences.
"""
import json
import re
import sys

NAME = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"\s*(,|$)')


def parse(path):
    """{(name, frozenset(labels)): value}, {family: type}, problems"""
    samples, types, helps, problems = {}, {}, set(), []
    current = None
    for n, line in enumerate(open(path, encoding='utf-8'), 1):
        line = line.rstrip('\n')
        if not line:
            continue
        if line.startswith('# HELP '):
            fam = line.split(' ')[2]
            if fam in helps:
                problems.append(f'line {n}: HELP {fam} twice')
            helps.add(fam)
            continue
        if line.startswith('# TYPE '):
            _, _, fam, typ = line.split(' ', 3)
            if fam in types:
                problems.append(f'line {n}: TYPE {fam} twice')
            if typ not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                problems.append(f'line {n}: unknown type {typ}')
            if fam not in helps:
                problems.append(f'line {n}: TYPE {fam} without HELP before it')
            if typ == 'counter' and not fam.endswith('_total'):
                problems.append(f'line {n}: counter {fam} does not end in _total')
            types[fam] = typ
            current = fam
            continue
        if line.startswith('#'):
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append(f'line {n}: not a sample: {line!r}')
            continue
        name, _, labels_s, value = m.groups()
        labels = {}
        rest = labels_s or ''
        while rest:
            lm = LABEL.match(rest)
            if not lm:
                problems.append(f'line {n}: bad labels {labels_s!r}')
                break
            labels[lm.group(1)] = lm.group(2)
            rest = rest[lm.end():]
        fam = name
        for suffix in ('_bucket', '_sum', '_count'):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == 'histogram':
                fam = name[:-len(suffix)]
        if fam != current:
            problems.append(f'line {n}: sample {name} outside its family block ({current})')
        try:
            v = float(value)
        except ValueError:
            problems.append(f'line {n}: bad value {value!r}')
            continue
        key = (name, frozenset(labels.items()))
        if key in samples:
            problems.append(f'line {n}: series {name}{labels} twice')
        samples[key] = v
    return samples, types, problems


def get(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def check_histograms(samples, types, problems):
    for fam, typ in types.items():
        if typ != 'histogram':
            continue
        pools = {dict(k[1])['pool'] for k in samples if k[0] == fam + '_count'}
        for pool in pools:
            buckets = sorted(((float('inf') if dict(k[1])['le'] == '+Inf' else float(dict(k[1])['le'])), v)
                             for k, v in samples.items()
                             if k[0] == fam + '_bucket' and dict(k[1]).get('pool') == pool)
            counts = [v for _, v in buckets]
            if counts != sorted(counts):
                problems.append(f'{fam}{{pool={pool}}}: buckets not cumulative: {counts}')
            if not buckets or buckets[-1][0] != float('inf'):
                problems.append(f'{fam}{{pool={pool}}}: no +Inf bucket')
            elif buckets[-1][1] != get(samples, fam + '_count', pool=pool):
                problems.append(f'{fam}{{pool={pool}}}: +Inf bucket != _count')


def cmd_format(path):
    samples, types, problems = parse(path)
    check_histograms(samples, types, problems)
    for fam in types:
        if not NAME.match(fam) or not (fam.startswith('pgpool_') or fam.startswith('process_')):
            problems.append(f'family {fam}: name not pgpool_... / process_...')
    print(f'{len(types)} families, {len(samples)} samples, '
          f'{sum(1 for t in types.values() if t == "histogram")} histograms')
    return problems


# pgpool_stats() key -> how /metrics shows it (name, extra labels, scale)
METRIC_OF = {
    'acquires': ('pgpool_acquires_total', {}, 1),
    'acquire_waits': ('pgpool_acquire_waits_total', {}, 1),
    'acquire_wait_us': ('pgpool_acquire_queue_seconds_total', {}, 1e6),
    'acquire_timeouts': ('pgpool_acquire_timeouts_total', {}, 1),
    'fd_transfers': ('pgpool_fd_transfers_total', {}, 1),
    'queries': ('pgpool_queries_total', {}, 1),
    'query_us': ('pgpool_query_duration_seconds_sum', {}, 1e6),
    'lease_us': ('pgpool_lease_hold_seconds_sum', {}, 1e6),
    'prepared_hits': ('pgpool_prepared_statements_total', {'result': 'hit'}, 1),
    'prepared_misses': ('pgpool_prepared_statements_total', {'result': 'miss'}, 1),
    'connects': ('pgpool_backend_connects_total', {}, 1),
    'connect_failures': ('pgpool_backend_connect_failures_total', {}, 1),
    'disconnects': ('pgpool_backend_disconnects_total', {}, 1),
    'reclaims': ('pgpool_lease_reclaims_total', {}, 1),
    'discards': ('pgpool_backend_discards_total', {}, 1),
    'idle': ('pgpool_connections', {'state': 'idle'}, 1),
    'active': ('pgpool_connections', {'state': 'leased'}, 1),
    'connecting': ('pgpool_connections', {'state': 'connecting'}, 1),
    'waiting': ('pgpool_waiting_workers', {}, 1),
    'max': ('pgpool_max_connections', {}, 1),
    'min': ('pgpool_min_connections', {}, 1),
}


def cmd_agree(stats_path, cli_path, metrics_path):
    stats = json.load(open(stats_path))
    cli = {p['name']: p for p in json.load(open(cli_path))}
    samples, types, problems = parse(metrics_path)
    if set(stats) != set(cli):
        problems.append(f'pools differ: pgpool_stats {sorted(stats)}, pgpool-cli {sorted(cli)}')
    compared = 0
    for pool, s in sorted(stats.items()):
        c = cli.get(pool, {})
        for key, value in s.items():
            if key == 'name':
                continue
            if c.get(key) != value:
                problems.append(f'{pool}.{key}: pgpool_stats {value!r}, pgpool-cli {c.get(key)!r}')
            compared += 1
            if key in METRIC_OF:
                name, labels, scale = METRIC_OF[key]
                m = get(samples, name, pool=pool, **labels)
                if m is None or round(m * scale) != value:
                    problems.append(f'{pool}.{key}: pgpool_stats {value}, /metrics {name} {m}')
                compared += 1
        # derived: errors = sum by type; status one-hot; histogram counts
        errs = sum(v for k, v in samples.items()
                   if k[0] == 'pgpool_errors_total' and dict(k[1])['pool'] == pool)
        if errs != s['errors']:
            problems.append(f'{pool}.errors: pgpool_stats {s["errors"]}, sum of pgpool_errors_total {errs}')
        if get(samples, 'pgpool_pool_status', pool=pool, status=s['status']) != 1:
            problems.append(f'{pool}.status {s["status"]}: not 1 in pgpool_pool_status')
        for fam, key in (('pgpool_query_duration_seconds', 'queries'),
                         ('pgpool_lease_hold_seconds', 'acquires'),
                         ('pgpool_acquire_wait_seconds', 'acquires'),
                         ('pgpool_backend_connect_seconds', 'connects')):
            if get(samples, fam + '_count', pool=pool) != s[key]:
                problems.append(f'{pool}: {fam}_count {get(samples, fam + "_count", pool=pool)} != {key} {s[key]}')
        compared += 6
        by_type = {k: v for k, v in c.items() if k.startswith('errors_')}
        if sum(by_type.values()) != s['errors']:
            problems.append(f'{pool}: pgpool-cli errors_* {by_type} do not add up to {s["errors"]}')
        print(f'{pool}: acquires {s["acquires"]}, queries {s["queries"]}, fd_transfers {s["fd_transfers"]}, '
              f'connects {s["connects"]}, errors {s["errors"]} '
              f'({", ".join(f"{k[7:]}={v}" for k, v in by_type.items() if v)})')
    print(f'{compared} values compared')
    return problems


def main():
    if len(sys.argv) == 3 and sys.argv[1] == 'format':
        problems = cmd_format(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == 'agree':
        problems = cmd_agree(*sys.argv[2:])
    else:
        print(__doc__)
        return 2
    for p in problems[:40]:
        print('problem:', p)
    return 1 if problems else 0


sys.exit(main())
