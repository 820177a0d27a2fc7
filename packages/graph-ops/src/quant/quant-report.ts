import {
  DataType, nodeLabel, tensorByteSize,
  type Graph, type Model, type NodeDecision, type NodeProto, type PassContext, type PassReport, type UnknownType,
} from '@onnx-forge/core';

/** How much of the MatMul/Conv/Gemm weights the pass quantized. */
export interface QuantCoverage {
  /** Float elements of constant MatMul/Conv/Gemm weights in the input model. */
  weightElements: number;
  quantizedElements: number;
  /** quantizedElements / weightElements (1 when there is nothing to cover). */
  share: number;
}

/** A float tensor the quantized model still holds, and why it stays float. */
export interface FloatTensorNote {
  name: string;
  bytes: number;
  reason: string;
}

/** What every quantization pass reports (INT8 and int4). */
export interface QuantReportBase {
  options: Record<string, unknown>;
  /** What happened to every node, with the reason. */
  nodes: NodeDecision[];
  quantized: number;
  skipped: number;
  /** Bytes of all tensors (weights and constants) before and after. */
  bytesBefore: number;
  bytesAfter: number;
  coverage: QuantCoverage;
  /** Float tensors left, largest first. */
  keptFloat: FloatTensorNote[];
  warnings: string[];
  stats: Record<string, number | string>;
  durationMs: number;
}

export interface QuantReport extends QuantReportBase {
  /** The pass whose rewrites these are (int8-auto runs int8-dynamic's or int8-static's). */
  pass: 'int8-dynamic' | 'int8-static' | 'int8-auto';
  /**
   * The integer range chosen for the weights and why: `saturationSafe` is true when the model stays
   * accurate on x86 CPUs without VNNI (see isa-forms.ts).
   */
  int8Form: { isa: string; saturationSafe: boolean; reasons: string[] };
  /** Values whose element type is unknown and that a decision depended on (never skipped silently). */
  unknownTypes: UnknownType[];
}

/** Actions recorded per node. */
export const QuantAction = {
  QUANTIZED: 'quantized',
  SKIPPED: 'skipped',
  NOT_APPLICABLE: 'not-quantized',
} as const;

/**
 * Collects decisions and coverage during a quantization pass and hands them to the pass context, so
 * the PassManager report and the plain-function report carry the same facts.
 */
export class QuantRecorder {
  private quantizedCount = 0;
  private skippedCount = 0;
  private readonly weightSeen = new Map<string, number>();
  private readonly weightDone = new Set<string>();
  readonly unknownTypes: UnknownType[] = [];

  constructor(private readonly ctx: PassContext) {}

  quantized(graph: Graph, node: NodeProto, how: string): void {
    this.quantizedCount++;
    this.ctx.decide(graph.path, node, QuantAction.QUANTIZED, how);
  }

  skipped(graph: Graph, node: NodeProto, reason: string): void {
    this.skippedCount++;
    this.ctx.decide(graph.path, node, QuantAction.SKIPPED, reason);
  }

  /** A node whose op type the pass does not quantize at all. */
  notApplicable(graph: Graph, node: NodeProto, reason: string): void {
    this.ctx.decide(graph.path, node, QuantAction.NOT_APPLICABLE, reason);
  }

  unknownType(graph: Graph, node: NodeProto, value: string, reason: string): void {
    this.unknownTypes.push({ graph: graph.path, value, node: nodeLabel(node), opType: node.opType, reason });
    this.ctx.warn(`element type of "${value}" (input of ${nodeLabel(node)} in ${graph.path}) is unknown: ${reason}; the node stays float`);
  }

  /** A MatMul/Conv/Gemm weight counted for coverage (keyed by owner graph and name, counted once). */
  weight(key: string, elements: number): void {
    this.weightSeen.set(key, elements);
  }

  weightQuantized(key: string): void {
    this.weightDone.add(key);
  }

  get quantizedNodes(): number {
    return this.quantizedCount;
  }

  coverage(): QuantCoverage {
    let total = 0;
    let done = 0;
    for (const [k, n] of this.weightSeen) {
      total += n;
      if (this.weightDone.has(k)) done += n;
    }
    return { weightElements: total, quantizedElements: done, share: total ? done / total : 1 };
  }

  finish(): QuantCoverage {
    const c = this.coverage();
    this.ctx.set('nodesQuantized', this.quantizedCount);
    this.ctx.set('nodesSkipped', this.skippedCount);
    this.ctx.set('weightElements', c.weightElements);
    this.ctx.set('quantizedWeightElements', c.quantizedElements);
    this.ctx.set('coverage', Number(c.share.toFixed(6)));
    this.ctx.set('unknownTypes', this.unknownTypes.length);
    this.ctx.detail('unknownTypes', this.unknownTypes);
    return c;
  }
}

const NORM_OPS = new Set(['LayerNormalization', 'BatchNormalization', 'InstanceNormalization', 'GroupNormalization', 'SkipLayerNormalization', 'SimplifiedLayerNormalization']);

/**
 * Float tensors left in a (quantized) model, with why each stays float, largest first. Tensors under
 * `minBytes` are summed into one entry so the list stays readable.
 */
export function floatTensorNotes(model: Model, minBytes = 4096): FloatTensorNote[] {
  const notes: FloatTensorNote[] = [];
  let smallBytes = 0;
  let smallCount = 0;
  for (const graph of model.graphs()) {
    for (const t of graph.initializers) {
      if (t.dataType !== DataType.FLOAT && t.dataType !== DataType.FLOAT16 && t.dataType !== DataType.DOUBLE) continue;
      const bytes = tensorByteSize(t);
      if (bytes < minBytes) {
        smallBytes += bytes;
        smallCount++;
        continue;
      }
      notes.push({ name: t.name, bytes, reason: floatReason(graph, t.name) });
    }
  }
  notes.sort((a, b) => b.bytes - a.bytes);
  if (smallCount) notes.push({ name: `(${smallCount} tensors under ${minBytes} bytes)`, bytes: smallBytes, reason: 'scales, biases, normalization parameters and small constants' });
  return notes;
}

function floatReason(graph: Graph, name: string): string {
  const users = graph.consumers(name);
  if (!users.length) return graph.isGraphOutput(name) ? 'a graph output' : 'not read by any node';
  const ops = [...new Set(users.map((u) => u.opType))];
  if (/_scale(_rows|_alpha|_broadcast)?(_\d+)?$|_row_offset(_\d+)?$/.test(name)) return 'quantization scales of 8-bit weights (one float per tensor, channel or row)';
  if (users.every((u) => NORM_OPS.has(u.opType))) return `normalization parameter of ${ops.join('/')}: small, and kept float for accuracy`;
  if (users.every((u) => u.opType === 'Add' || u.opType === 'Conv' || u.opType === 'Gemm') && graph.initializer(name)?.dims.length === 1) {
    return `bias read by ${ops.join('/')}: added in float after the integer product, one value per output channel`;
  }
  return `read by ${ops.join('/')} (${users.slice(0, 2).map((u) => nodeLabel(u)).join(', ')}${users.length > 2 ? ', ...' : ''}), which the pass does not quantize`;
}

/** The part of a quantization report every pass's PassReport gives the same way (INT8 and int4). */
export function quantReportBase(r: PassReport, model: Model): QuantReportBase {
  const stat = (k: string) => Number(r.stats[k] ?? 0);
  return {
    options: r.options,
    nodes: r.decisions,
    quantized: r.decisions.filter((d) => d.action === QuantAction.QUANTIZED).length,
    skipped: r.decisions.filter((d) => d.action === QuantAction.SKIPPED).length,
    bytesBefore: r.bytesBefore,
    bytesAfter: r.bytesAfter,
    coverage: r.stats.coverage === undefined
      ? { weightElements: 0, quantizedElements: 0, share: 1 }
      : { weightElements: stat('weightElements'), quantizedElements: stat('quantizedWeightElements'), share: stat('coverage') },
    keptFloat: floatTensorNotes(model),
    warnings: r.warnings,
    stats: r.stats,
    durationMs: r.durationMs,
  };
}

/** A QuantReport from an INT8 pass's report and the model it rewrote. */
export function quantReport(r: PassReport, model: Model): QuantReport {
  const reasons = String(r.stats.weightRange ?? '');
  return {
    ...quantReportBase(r, model),
    pass: r.name as QuantReport['pass'],
    int8Form: {
      isa: String(r.stats.isa ?? r.options.isa ?? ''),
      saturationSafe: r.stats.saturationSafe !== 'no',
      reasons: reasons && reasons !== 'no weights quantized' ? reasons.split(' | ') : [],
    },
    unknownTypes: (r.data.unknownTypes as UnknownType[] | undefined) ?? [],
  };
}
