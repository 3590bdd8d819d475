// The BullMQ side of the engine benchmark: the same shape as engine_bench.c.
// Enqueue N no-op jobs with addBulk in chunks of 1000, then consume them with
// one Worker of concurrency C (at-least-once, completed jobs removed, as the
// engine deletes acknowledged entries). Prints one line of figures.
//   REDIS_URL=... node bullmq_bench.mjs N CONCURRENCY
import { Queue, Worker } from 'bullmq';

const url = new URL(process.env.REDIS_URL);
const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
const n = Number(process.argv[2]);
const concurrency = Number(process.argv[3]);
const name = `bench-${process.pid}`;

const queue = new Queue(name, { connection });
await queue.waitUntilReady();
const opts = { removeOnComplete: true, removeOnFail: true };
const t0 = performance.now();
for (let done = 0; done < n; done += 1000) {
  const jobs = [];
  for (let i = done; i < Math.min(n, done + 1000); i++) jobs.push({ name: 'noop', data: { run: Math.floor(i / 10) + 1, seq: (i % 10) + 1 }, opts });
  await queue.addBulk(jobs);
}
const t1 = performance.now();

let completed = 0;
let t2 = 0;
const finished = new Promise((resolve) => {
  const worker = new Worker(name, async () => {}, { connection, concurrency, autorun: false });
  worker.on('completed', () => {
    if (++completed === n) { t2 = performance.now(); resolve(worker); }
  });
  worker.run();
});
const worker = await finished;
await worker.close();
await queue.obliterate({ force: true });
await queue.close();
const enq = t1 - t0, proc = t2 - t1;
console.log(`bullmq n=${n} c=${concurrency} enqueue_ms=${enq.toFixed(0)} process_ms=${proc.toFixed(0)} ` +
  `process_per_s=${(n / (proc / 1000)).toFixed(0)} total_per_s=${(n / ((enq + proc) / 1000)).toFixed(0)} handled=${completed}`);
