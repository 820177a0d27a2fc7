import { ForgeError, ForgeErrorCode } from '../errors.js';

/** One pass of a pipeline string, before its options are typed. */
export interface PipelineStep {
  name: string;
  options: Record<string, string | string[]>;
}

/**
 * Parses `fp16{keepIoTypes=true,blockOps=[Resize,TopK]},cleanup`. Values are bare words, quoted
 * strings ("a,b") or bracketed lists; option types are applied later by each pass factory.
 */
export function parsePipeline(text: string): PipelineStep[] {
  let i = 0;
  const fail = (msg: string): never => {
    throw new ForgeError(ForgeErrorCode.INVALID_PIPELINE, `pipeline "${text}": ${msg} at position ${i}`, { details: { pipeline: text, position: i } });
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const word = (stops: string): string => {
    ws();
    if (text[i] === '"' || text[i] === "'") {
      const q = text[i++] as string;
      let out = '';
      while (i < text.length && text[i] !== q) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        out += text[i++];
      }
      if (text[i] !== q) fail('unterminated quote');
      i++;
      ws();
      return out;
    }
    const start = i;
    while (i < text.length && !stops.includes(text[i] as string)) i++;
    const w = text.slice(start, i).trim();
    ws();
    return w;
  };
  const steps: PipelineStep[] = [];
  ws();
  if (i >= text.length) fail('empty pipeline');
  while (i < text.length) {
    const name = word('{,');
    if (!/^[a-z][a-z0-9-]*$/.test(name)) fail(`bad pass name "${name}"`);
    const options: Record<string, string | string[]> = {};
    if (text[i] === '{') {
      i++;
      ws();
      while (text[i] !== '}') {
        if (i >= text.length) fail('missing "}"');
        const key = word('=,}');
        if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) fail(`bad option name "${key}"`);
        if (key in options) fail(`option "${key}" given twice`);
        if (text[i] !== '=') {
          options[key] = ''; // a bare flag: `fp16{keepIoTypes}`
        } else {
          i++;
          ws();
          if (text[i] === '[') {
            i++;
            const items: string[] = [];
            ws();
            while (text[i] !== ']') {
              if (i >= text.length) fail('missing "]"');
              const item = word(',]');
              if (item === '') fail('empty list item');
              items.push(item);
              if (text[i] === ',') i++;
            }
            i++;
            ws();
            options[key] = items;
          } else {
            options[key] = word(',}');
          }
        }
        if (text[i] === ',') {
          i++;
          ws();
        } else if (text[i] !== '}') fail('expected "," or "}"');
      }
      i++;
      ws();
    }
    steps.push({ name, options });
    if (i < text.length) {
      if (text[i] !== ',') fail('expected ","');
      i++;
      ws();
      if (i >= text.length) fail('trailing ","');
    }
  }
  return steps;
}

/** The canonical text of a step list (inverse of parsePipeline for display). */
export function formatPipeline(steps: { name: string; options: Record<string, unknown> }[]): string {
  const fmt = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(fmt).join(',')}]`;
    const s = String(v);
    return /[,{}[\]="'\s]/.test(s) ? JSON.stringify(s) : s;
  };
  return steps
    .map((s) => {
      const entries = Object.entries(s.options);
      return entries.length ? `${s.name}{${entries.map(([k, v]) => `${k}=${fmt(v)}`).join(',')}}` : s.name;
    })
    .join(',');
}
