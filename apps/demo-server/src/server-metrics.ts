import { Counter, Gauge, Histogram, type Registry, collectDefaultMetrics } from 'prom-client';
import { LATENCY_BUCKETS } from '@onnx-forge/hybrid';
import type { ModelRegistry } from './models/model-registry.js';

const P = 'onnx_forge_server_';

/**
 * The server's own Prometheus series, beside the hybrid layer's (`onnx_forge_hybrid_*`, per model and
 * variant) and the process's (CPU, memory, event-loop lag) in one registry: requests by route and
 * status, inference latency, and per model the requests running and waiting and how well batching did.
 */
export class ServerMetrics {
  private readonly requests: Counter<'route' | 'status'>;
  private readonly inferSeconds: Histogram<'model'>;
  private readonly inferRequests: Counter<'model' | 'status'>;

  constructor(readonly registry: Registry, models: ModelRegistry) {
    const registers = [registry];
    collectDefaultMetrics({ register: registry, prefix: P });
    this.requests = new Counter({ name: `${P}http_requests_total`, help: 'HTTP requests by route and status code', labelNames: ['route', 'status'], registers });
    this.inferRequests = new Counter({ name: `${P}inference_requests_total`, help: 'Inference requests by model and status code', labelNames: ['model', 'status'], registers });
    this.inferSeconds = new Histogram({ name: `${P}inference_seconds`, help: 'Time to answer a successful inference request, decoding and encoding included', labelNames: ['model'], buckets: [...LATENCY_BUCKETS], registers });
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge) => void) =>
      new Gauge({
        name: `${P}${name}`,
        help,
        labelNames,
        registers,
        collect(this: Gauge) {
          this.reset();
          fill(this);
        },
      });
    gauge('model_in_flight', 'Inference requests of a model running now', ['model'], (g) => {
      for (const m of models.loaded()) g.set({ model: m.name }, m.inFlight);
    });
    gauge('model_queued', 'Inference requests of a model waiting for a slot', ['model'], (g) => {
      for (const m of models.loaded()) g.set({ model: m.name }, m.queued);
    });
    gauge('model_ready', '1 for a model in state READY', ['model'], (g) => {
      for (const e of models.index()) g.set({ model: e.name }, e.state === 'READY' ? 1 : 0);
    });
    gauge('batch_runs', 'Model runs by the dynamic batcher since load (stacked and single)', ['model', 'variant'], (g) => {
      for (const m of models.loaded()) for (const [variant, s] of m.batchStats()) g.set({ model: m.name, variant }, s.runs);
    });
    gauge('batch_mean_size', 'Mean requests per model run under dynamic batching', ['model', 'variant'], (g) => {
      for (const m of models.loaded()) for (const [variant, s] of m.batchStats()) g.set({ model: m.name, variant }, s.meanBatchSize);
    });
    gauge('batch_largest', 'Largest batch run since load', ['model', 'variant'], (g) => {
      for (const m of models.loaded()) for (const [variant, s] of m.batchStats()) g.set({ model: m.name, variant }, s.largestBatch);
    });
  }

  request(route: string, status: number): void {
    this.requests.inc({ route, status: String(status) });
  }

  inference(model: string, status: number, seconds: number | undefined): void {
    this.inferRequests.inc({ model, status: String(status) });
    if (seconds !== undefined) this.inferSeconds.observe({ model }, seconds);
  }
}
