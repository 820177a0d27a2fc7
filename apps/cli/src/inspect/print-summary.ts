import { formatBytes } from '@onnx-forge/core';
import { formatCount, table } from '../framework/format.js';
import type { ModelSummary, ValueSummary } from './summarize-model.js';

/** Packs short items into lines of at most `width` characters. */
function flow(items: readonly string[], indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    if (line && indent.length + line.length + 3 + item.length > width) {
      lines.push(indent + line);
      line = item;
    } else {
      line = line ? `${line}   ${item}` : item;
    }
  }
  if (line) lines.push(indent + line);
  return lines;
}

function values(title: string, list: readonly ValueSummary[]): string[] {
  if (list.length === 0) return [`${title}: none`];
  return [`${title} (${list.length}):`, ...table(list.map((v) => [v.name, v.type]), { indent: '  ' })];
}

/** The text form of `onnx-forge inspect`. */
export function printSummary(s: ModelSummary): string[] {
  const out: string[] = [];
  const producer = [s.producer.name, s.producer.version].filter(Boolean).join(' ') || '(not set)';
  out.push(`${s.file.path} (${formatBytes(s.file.bytes)})`);
  out.push(`  IR version ${s.irVersion}, producer ${producer}${s.domain ? `, domain ${s.domain}` : ''}${s.modelVersion ? `, model version ${s.modelVersion}` : ''}`);
  out.push(`  opsets: ${s.opsets.map((o) => `${o.domain} ${o.version}`).join(', ') || 'none'}`);
  const allNodes = s.ops.total !== s.graph.nodes ? ` (${formatCount(s.ops.total)} in all graphs)` : '';
  out.push(`  graph "${s.graph.name}": ${formatCount(s.graph.nodes)} nodes${allNodes}, ${formatCount(s.graph.initializers)} initializers`);
  if (s.docString) out.push(`  doc: ${s.docString.split('\n')[0]}`);

  out.push('', ...values('Inputs', s.inputs), ...values('Outputs', s.outputs));

  out.push('', `Parameters: ${formatCount(s.parameters.elements)} (${formatBytes(s.parameters.bytes)}) in ${formatCount(s.parameters.tensors)} tensors`);
  const dtypes = Object.entries(s.parameters.byDtype).sort((a, b) => b[1].bytes - a[1].bytes);
  out.push(...table(dtypes.map(([d, t]) => [d, formatCount(t.elements), formatBytes(t.bytes), `${formatCount(t.tensors)} tensors`]), { indent: '  ', alignRight: [1, 2] }));
  if (s.constants.tensors) out.push(`Constants in attributes: ${formatCount(s.constants.tensors)} tensors, ${formatCount(s.constants.elements)} elements (${formatBytes(s.constants.bytes)})`);

  out.push('', `Operators: ${formatCount(s.ops.total)} nodes`);
  for (const [domain, ops] of Object.entries(s.ops.byDomain)) {
    const n = Object.values(ops).reduce((a, b) => a + b, 0);
    out.push(`  ${domain} (${formatCount(n)} nodes, ${Object.keys(ops).length} op types):`);
    out.push(...flow(Object.entries(ops).map(([op, c]) => `${op} ${c}`), '    '));
  }

  if (s.externalData.files.length === 0) {
    out.push('', 'External data: none');
  } else {
    out.push('', `External data: ${formatBytes(s.externalData.bytes)} in ${formatCount(s.externalData.tensors)} tensors, ${s.externalData.files.length} file(s)`);
    out.push(
      ...table(
        s.externalData.files.map((f) => [
          f.location || '(no location)',
          formatBytes(f.bytes),
          `${formatCount(f.tensors)} tensors`,
          f.problem ? 'REFUSED' : f.missing ? 'MISSING' : f.truncated ? `TRUNCATED (file has ${formatBytes(f.fileBytes ?? 0)})` : '',
        ]),
        { indent: '  ', alignRight: [1] },
      ),
    );
    for (const f of s.externalData.files) {
      if (f.problem) out.push(`  warning: ${f.problem} (onnx-forge check and the conversions refuse it)`);
    }
  }

  if (s.subgraphs.count === 0) {
    out.push('', 'Subgraphs: none');
  } else {
    out.push('', `Subgraphs: ${s.subgraphs.count} (nesting depth ${s.subgraphs.maxDepth}), held by ${s.subgraphs.holders.length} node(s):`);
    out.push(...table(s.subgraphs.holders.map((h) => [h.node, h.opType, `in ${h.graph}`, h.attributes.join(', ')]), { indent: '  ' }));
  }

  if (s.functions.length === 0) {
    out.push('Functions: none');
  } else {
    out.push(`Functions (${s.functions.length}):`);
    out.push(...table(s.functions.map((f) => [`${f.domain}.${f.name}`, `${f.nodes} nodes`, `(${f.inputs.join(', ')}) -> (${f.outputs.join(', ')})`]), { indent: '  ' }));
  }

  const meta = Object.entries(s.metadata);
  if (meta.length === 0) {
    out.push('Metadata: none');
  } else {
    out.push(`Metadata (${meta.length}):`, ...table(meta.map(([k, v]) => [k, v.length > 120 ? `${v.slice(0, 117)}...` : v]), { indent: '  ' }));
  }

  // What onnxruntime-web's WebGPU makes of the model, as @onnx-forge/runtime judges it before creating a session.
  const { float16Compute: f16, miscompute: wrong } = s.webgpu;
  out.push('', 'WebGPU (onnxruntime-web):');
  if (wrong) out.push(`  computes ${wrong.opType} node '${wrong.node}' wrong: ${wrong.why}; @onnx-forge/runtime runs the model on wasm instead (onnx-forge quantize --target webgpu writes forms it computes right)`);
  if (f16) out.push(`  computes in float16 from ${f16.opType} node '${f16.node}' (${f16.value}): needs an adapter with shader-f16, else @onnx-forge/runtime runs it on wasm`);
  if (!wrong && !f16) out.push('  nothing known to go wrong: float32 compute, and no node its WebGPU provider computes wrong');
  return out;
}
