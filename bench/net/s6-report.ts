/**
 * S6's report: which steps count (highest sustained, highest within the p99
 * bound, lowest failed), the summary table (one row per metric, a column per
 * set-up, ratios to the first set-up) and the table of every step and probe.
 */
import type { Column, Row, Table } from '../lib/types.js';
import { ms, pct, rate } from './common.js';
import type { ClusterStep, SetupRun } from './s6-cluster.js';
import type { ShardDelta } from './s6-redis-cluster.js';
import { P99_BOUND_MS } from './steps.js';

// ---------------------------------------------------------------------------
// Which steps count

/** The highest sustained step. */
export function bestOf(steps: ClusterStep[]): ClusterStep | undefined {
  let best: ClusterStep | undefined;
  for (const s of steps) if (s.sustained && (best === undefined || s.pushRate > best.pushRate)) best = s;
  return best;
}

function bestWithinP99(steps: ClusterStep[]): ClusterStep | undefined {
  return bestOf(steps.filter((s) => s.p99Ms <= P99_BOUND_MS));
}

function firstFailedOf(steps: ClusterStep[]): ClusterStep | undefined {
  let first: ClusterStep | undefined;
  for (const s of steps) if (!s.sustained && (first === undefined || s.pushRate < first.pushRate)) first = s;
  return first;
}

// ---------------------------------------------------------------------------
// Tables

const us = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const bytes = (v: number): string => `${Math.round(v).toLocaleString('en-US')} B`;
const kbps = (v: number): string => `${(v / 1024).toFixed(1)} KiB/s`;
const num = (v: number): string => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2));

interface Metric {
  name: string;
  values: (number | string | undefined)[];
  format?(value: number): string;
  /** Add `x/first` ratio cells. */
  ratio?: boolean;
}

/** One row per metric, a column per set-up, then the ratio of each set-up to the first one. */
function summary(labels: string[], metrics: Metric[]): { columns: Column[]; rows: Row[] } {
  const columns: Column[] = [{ key: 'metric', label: 'metric' }];
  labels.forEach((l, i) => columns.push({ key: `v${i}`, label: l, format: 'rtext' }));
  for (let i = 1; i < labels.length; i++) columns.push({ key: `r${i}`, label: `${labels[i]} / ${labels[0]}`, format: 'rtext' });
  const rows = metrics.map((m) => {
    const row: Row = { metric: m.name };
    m.values.forEach((v, i) => {
      row[`v${i}`] = typeof v === 'string' ? v : v === undefined || !Number.isFinite(v) ? '–' : (m.format ?? String)(v);
    });
    for (let i = 1; i < labels.length; i++) {
      const a = m.values[i];
      const b = m.values[0];
      row[`r${i}`] = m.ratio && typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '';
    }
    return row;
  });
  return { columns, rows };
}

function perNodeCpu(s: ClusterStep | undefined): string | undefined {
  return s === undefined ? undefined : s.nodes.map((n) => `${n.name} ${(n.cpu * 100).toFixed(0)}`).join(' / ') + ' %';
}

/** The summary: one row per metric, a column per set-up. */
export function summaryOf(runs: SetupRun[]): { columns: Column[]; rows: Row[] } {
  const labels = runs.map((r) => r.label);
  const best = runs.map((r) => r.best);
  const within = runs.map((r) => bestWithinP99(r.steps));
  const failed = runs.map((r) => firstFailedOf(r.steps));
  const probe = runs.map((r) => r.probe);
  /** The first (lowest) step: no process saturated, so CPU there is a cost, not a share of a full machine. */
  const first = runs.map((r) => [...r.steps].sort((a, b) => a.pushRate - b.pushRate)[0]);
  const firstLabel = first.find((s) => s !== undefined);
  const at = <T>(list: (ClusterStep | undefined)[], f: (s: ClusterStep) => T): (T | undefined)[] => list.map((s) => (s === undefined ? undefined : f(s)));
  return summary(labels, [
    { name: 'Herald nodes (subscriber nodes + quiet)', values: runs.map((r) => `${r.nodes}${r.quietNode ? ' + 1' : ''}`) },
    { name: 'subscribers per node', values: runs.map((r) => r.connect.perNode.map((p) => p.ok).join(' / ')) },
    { name: 'RSS per node, all clients subscribed (MiB)', values: runs.map((r) => r.rssMiB.map((n) => n.mib.toFixed(0)).join(' / ')) },
    {
      name: `at the first step (${firstLabel ? rate(firstLabel.nominalDeliveries) : '–'} deliveries/s): Herald CPU, all nodes`,
      values: at(first, (s) => s.nodesCpu),
      format: pct,
      ratio: true,
    },
    { name: '… Herald CPU per node', values: first.map(perNodeCpu) },
    { name: '… Herald CPU per delivery, all nodes (µs)', values: at(first, (s) => s.nodeUsPerDelivery), format: us, ratio: true },
    { name: '… p50 / p99 latency (ms)', values: at(first, (s) => `${ms(s.p50Ms)} / ${ms(s.p99Ms)}`) },
    { name: '… machine busy (both cores)', values: at(first, (s) => s.machineBusy), format: (v) => `${(v * 100).toFixed(0)} %` },
    { name: 'highest sustained step: offered deliveries/s', values: at(best, (s) => s.offeredPerSec), format: rate, ratio: true },
    { name: 'sustained deliveries/s (received)', values: at(best, (s) => s.receivedPerSec), format: rate, ratio: true },
    { name: '… pushes/s there', values: at(best, (s) => s.acceptedPerSec), format: num },
    { name: '… p50 latency (ms)', values: at(best, (s) => s.p50Ms), format: ms },
    { name: '… p99 latency (ms)', values: at(best, (s) => s.p99Ms), format: ms },
    { name: '… push API round trip p50 / p99 (ms)', values: at(best, (s) => `${ms(s.apiP50Ms)} / ${ms(s.apiP99Ms)}`) },
    { name: '… Herald CPU, all nodes (% of a core)', values: at(best, (s) => s.nodesCpu), format: pct, ratio: true },
    { name: '… Herald CPU per node', values: best.map(perNodeCpu) },
    { name: '… Herald CPU per delivery, all nodes (µs)', values: at(best, (s) => s.nodeUsPerDelivery), format: us, ratio: true },
    { name: '… Redis CPU (% of a core)', values: at(best, (s) => s.redis?.cpu ?? NaN), format: (v) => `${(v * 100).toFixed(1)} %` },
    { name: '… Redis commands/s', values: at(best, (s) => s.redis?.commandsPerSec ?? NaN), format: num },
    { name: '… Redis bytes out/s', values: at(best, (s) => s.redis?.netOutPerSec ?? NaN), format: kbps },
    { name: '… load clients CPU', values: at(best, (s) => s.clientCpu), format: pct },
    { name: '… kernel softirq', values: at(best, (s) => s.softirqCpu), format: pct },
    { name: '… machine busy (both cores)', values: at(best, (s) => s.machineBusy), format: (v) => `${(v * 100).toFixed(0)} %` },
    { name: `highest sustained step with p99 ≤ ${P99_BOUND_MS / 1000} s: deliveries/s`, values: at(within, (s) => s.offeredPerSec), format: rate, ratio: true },
    { name: '… p99 latency there (ms)', values: at(within, (s) => s.p99Ms), format: ms },
    { name: 'lowest step not sustained: offered/s', values: at(failed, (s) => s.offeredPerSec), format: rate },
    { name: '… received/s there', values: at(failed, (s) => s.receivedPerSec), format: rate },
    { name: '… push API round trip p50 / p99 there (ms)', values: at(failed, (s) => `${ms(s.apiP50Ms)} / ${ms(s.apiP99Ms)}`) },
    { name: '… why not sustained', values: at(failed, (s) => (s.reason ?? '').replace(/ \(64 requests waiting\)/, '')) },
    { name: 'Redis per publication (highest sustained step): commands', values: at(best, (s) => s.redisTotal?.perPublish?.commands ?? NaN), format: num },
    { name: '… Redis CPU (µs)', values: at(best, (s) => s.redisTotal?.perPublish?.cpuUs ?? NaN), format: us },
    { name: '… bytes into Redis', values: at(best, (s) => s.redisTotal?.perPublish?.netInBytes ?? NaN), format: bytes },
    { name: '… bytes out of Redis', values: at(best, (s) => s.redisTotal?.perPublish?.netOutBytes ?? NaN), format: bytes },
    { name: 'nats-server per publication (highest sustained step): CPU (µs)', values: at(best, (s) => s.natsTotal?.perPublish?.cpuUs ?? NaN), format: us },
    { name: '… messages in / out', values: at(best, (s) => (s.natsTotal?.perPublish ? `${s.natsTotal.perPublish.msgsIn.toFixed(2)} / ${s.natsTotal.perPublish.msgsOut.toFixed(2)}` : undefined)) },
    { name: '… bytes in / out', values: at(best, (s) => (s.natsTotal?.perPublish ? `${bytes(s.natsTotal.perPublish.bytesIn)} / ${bytes(s.natsTotal.perPublish.bytesOut)}` : undefined)) },
    { name: 'probe: pushes/s accepted (offered)', values: runs.map((r) => (r.probe ? `${num(r.probe.acceptedPerSec)} (${num(r.probe.pushRate)})` : undefined)) },
    { name: '… node A CPU per push (µs)', values: at(probe, (s) => s.nodeAUsPerPush), format: us, ratio: true },
    { name: '… Redis CPU (% of a core)', values: at(probe, (s) => s.redis?.cpu ?? NaN), format: (v) => `${(v * 100).toFixed(1)} %` },
    { name: '… Redis CPU per publication (µs)', values: at(probe, (s) => s.redisTotal?.perPublish?.cpuUs ?? NaN), format: us },
    { name: '… nats-server CPU per publication (µs)', values: at(probe, (s) => s.natsTotal?.perPublish?.cpuUs ?? NaN), format: us },
    { name: '… nats-server messages in / out per publication', values: at(probe, (s) => (s.natsTotal?.perPublish ? `${s.natsTotal.perPublish.msgsIn.toFixed(2)} / ${s.natsTotal.perPublish.msgsOut.toFixed(2)}` : undefined)) },
    { name: '… nats-server bytes in / out per publication', values: at(probe, (s) => (s.natsTotal?.perPublish ? `${bytes(s.natsTotal.perPublish.bytesIn)} / ${bytes(s.natsTotal.perPublish.bytesOut)}` : undefined)) },
    { name: '… Redis Cluster: CPU per publication, each master (µs)', values: at(probe, (s) => perMaster(s, (d) => us(d.cpuUsPerPub))) },
    { name: '… Redis Cluster: EVALSHA per publication, each master', values: at(probe, (s) => perMaster(s, (d) => d.evalshaPerPub.toFixed(2))) },
    { name: '… Redis Cluster: SPUBLISH per publication, each master', values: at(probe, (s) => perMaster(s, (d) => d.spublishPerPub.toFixed(2))) },
    { name: '… Redis Cluster: replicas CPU per publication (µs)', values: at(probe, (s) => replicasUs(s)) },
    { name: '… of which in the publish script (µs)', values: at(probe, (s) => s.redisTotal?.perPublish?.scriptUs ?? NaN), format: us },
    { name: '… bytes out of Redis per publication', values: at(probe, (s) => s.redisTotal?.perPublish?.netOutBytes ?? NaN), format: bytes },
    { name: '… p50 / p99 latency (ms)', values: at(probe, (s) => `${ms(s.p50Ms)} / ${ms(s.p99Ms)}`) },
    {
      name: 'PUBSUB NUMSUB (SHARDNUMSUB on a Redis Cluster) fan-out channel (expected)',
      values: runs.map((r) => (r.numsub ? `${r.numsub.fanout} (${r.numsub.expectedFanout})` : undefined)),
    },
    {
      name: 'quiet node: fan-out publications received (0 expected)',
      values: runs.map((r) => (r.quiet ? `${r.quiet.fanoutPublications} (probe: ${r.quiet.probePublications} of ${r.quiet.probeAccepted})` : undefined)),
    },
  ]);
}

/** Of a Redis Cluster step: `f` of each master, `a / b / c` (undefined for other engines). */
function perMaster(s: ClusterStep, f: (d: ShardDelta) => string): string | undefined {
  return s.shardsTotal === undefined ? undefined : s.shardsTotal.filter((d) => d.master).map(f).join(' / ');
}

function replicasUs(s: ClusterStep): string | undefined {
  const replicas = s.shardsTotal?.filter((d) => !d.master) ?? [];
  return replicas.length === 0 ? undefined : us(replicas.reduce((x, d) => x + d.cpuUsPerPub, 0));
}

/**
 * Redis Cluster set-ups: every cluster node in the probe (1,000 pushes/s to one topic) and in the
 * highest sustained fan-out step, per publication: the shard serving the topic's slot runs the
 * publish script (EVALSHA, with its SPUBLISH) once per publication; the others ~0, but background traffic.
 */
export function shardTableOf(runs: SetupRun[]): Table | undefined {
  const columns: Column[] = [
    { key: 'setup', label: 'set-up' },
    { key: 'step', label: 'step' },
    { key: 'pubs', label: 'pubs/s', format: 'rtext' },
    { key: 'node', label: 'cluster node' },
    { key: 'serves', label: 'serves' },
    { key: 'cpu', label: 'CPU', format: 'rtext' },
    { key: 'cpuUs', label: 'CPU µs/pub', format: 'rtext' },
    { key: 'commands', label: 'cmds/pub', format: 'rtext' },
    { key: 'evalsha', label: 'EVALSHA/pub', format: 'rtext' },
    { key: 'spublish', label: 'SPUBLISH/pub', format: 'rtext' },
    { key: 'in', label: 'bytes in/pub', format: 'rtext' },
    { key: 'out', label: 'bytes out/pub', format: 'rtext' },
    { key: 'other', label: 'other commands (calls in step + drain)' },
  ];
  const rows: Row[] = [];
  for (const run of runs) {
    const list: [string, ClusterStep | undefined][] = [
      ['probe', run.probe],
      [`fan-out ${run.best ? rate(run.best.offeredPerSec) : ''} deliv/s`, run.best],
    ];
    for (const [step, s] of list) {
      for (const d of s?.shardsTotal ?? []) {
        rows.push({
          setup: run.label,
          step,
          pubs: num((s as ClusterStep).acceptedPerSec),
          node: `:${d.port} ${d.role}`,
          serves: d.serves,
          cpu: pct(d.cpu),
          cpuUs: Number.isFinite(d.cpuUsPerPub) ? us(d.cpuUsPerPub) : '–',
          commands: fixedOrDash(d.commandsPerPub, 2),
          evalsha: fixedOrDash(d.evalshaPerPub, 3),
          spublish: fixedOrDash(d.spublishPerPub, 3),
          in: fixedOrDash(d.bytesInPerPub, 0),
          out: fixedOrDash(d.bytesOutPerPub, 0),
          other: d.other || '–',
        });
      }
    }
  }
  if (rows.length === 0) return undefined;
  return { title: 'Redis Cluster, per cluster node and publication (step start to end of drain; CPU in % of one core):', columns, rows };
}

/** `value` with `digits` decimals, or a dash when it is not a finite number (nothing to divide by). */
function fixedOrDash(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** Every step and probe of every set-up, one row each. */
export function stepsTableOf(runs: SetupRun[]): Table {
  const columns: Column[] = [
    { key: 'setup', label: 'set-up' },
    { key: 'offered', label: 'offered deliv/s', format: 'rtext' },
    { key: 'pushes', label: 'pushes/s', format: 'rtext' },
    { key: 'received', label: 'received/s', format: 'rtext' },
    { key: 'delivered', label: 'deliv %', format: 'rtext' },
    { key: 'p50', label: 'p50 ms', format: 'rtext' },
    { key: 'p99', label: 'p99 ms', format: 'rtext' },
    { key: 'api', label: 'API p50/p99 ms', format: 'rtext' },
    { key: 'nodes', label: 'Herald CPU (all)', format: 'rtext' },
    { key: 'perNode', label: 'per node', format: 'rtext' },
    { key: 'usPerDelivery', label: 'µs/deliv', format: 'rtext' },
    { key: 'redisCpu', label: 'Redis CPU', format: 'rtext' },
    { key: 'redisCmds', label: 'Redis cmd/s', format: 'rtext' },
    { key: 'redisOut', label: 'Redis out', format: 'rtext' },
    { key: 'load', label: 'load CPU', format: 'rtext' },
    { key: 'pusher', label: 'pusher CPU', format: 'rtext' },
    { key: 'softirq', label: 'softirq', format: 'rtext' },
    { key: 'other', label: 'other', format: 'rtext' },
    { key: 'machine', label: 'machine busy', format: 'rtext' },
    { key: 'ok', label: 'sustained' },
  ];
  const rows: Row[] = [];
  for (const run of runs) {
    const list: [string, ClusterStep][] = [...run.steps].sort((a, b) => a.pushRate - b.pushRate).map((s) => [s.refinement ? `${run.label} (halfway)` : run.label, s]);
    if (run.probe) list.push([`${run.label} probe`, run.probe]);
    for (const [label, s] of list) {
      rows.push({
        setup: label,
        offered: rate(s.offeredPerSec),
        pushes: num(s.acceptedPerSec),
        received: rate(s.receivedPerSec),
        delivered: (s.delivered * 100).toFixed(1),
        p50: Number.isFinite(s.p50Ms) ? ms(s.p50Ms) : '–',
        p99: Number.isFinite(s.p99Ms) ? ms(s.p99Ms) : '–',
        api: Number.isFinite(s.apiP99Ms) ? `${ms(s.apiP50Ms)}/${ms(s.apiP99Ms)}` : '–',
        nodes: pct(s.nodesCpu),
        perNode: s.nodes.map((n) => (n.cpu * 100).toFixed(0)).join('/'),
        usPerDelivery: Number.isFinite(s.nodeUsPerDelivery) ? us(s.nodeUsPerDelivery) : '–',
        redisCpu: s.redis ? `${(s.redis.cpu * 100).toFixed(1)} %` : '–',
        redisCmds: s.redis ? num(s.redis.commandsPerSec) : '–',
        redisOut: s.redis ? kbps(s.redis.netOutPerSec) : '–',
        load: pct(s.clientCpu),
        pusher: pct(s.pusherCpu),
        softirq: pct(s.softirqCpu),
        other: pct(s.otherCpu),
        machine: `${(s.machineBusy * 100).toFixed(0)} %`,
        ok: s.sustained ? 'yes' : `no: ${s.reason}`,
      });
    }
  }
  return { title: 'Steps and probe (CPU in % of one core; machine busy in % of both cores; per node: A/B/C[/Q]):', columns, rows };
}
