/**
 * A small seeded generator (mulberry32) so that every synthetic model and input is reproducible from
 * its seed. Not for cryptography.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  int(lo: number, hiExclusive: number): number {
    return lo + Math.floor(this.next() * (hiExclusive - lo));
  }

  /** Standard normal (Box-Muller). */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Fills with approximately normal values (sum of two uniforms, a triangular distribution with the
   * requested standard deviation): fast enough for 100 M weights, with no extreme outliers.
   */
  fillNormalish(out: Float32Array, std: number, mean = 0): Float32Array {
    const scale = std * Math.sqrt(6) / 4294967296;
    let s = this.state;
    for (let i = 0; i < out.length; i++) {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = Math.imul(s ^ (s >>> 15), s | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const a = (t ^ (t >>> 14)) >>> 0;
      s = (s + 0x6d2b79f5) >>> 0;
      t = Math.imul(s ^ (s >>> 15), s | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const b = (t ^ (t >>> 14)) >>> 0;
      out[i] = mean + (a - b) * scale;
    }
    this.state = s;
    return out;
  }

  /** A generator in the same state, which goes on independently. */
  clone(): Rng {
    const r = new Rng(1);
    r.state = this.state;
    return r;
  }

  /**
   * Moves on as if `draws` 32-bit values had been drawn (fillNormalish draws two per element), at no
   * cost: mulberry32's state advances by a constant per draw. Lets a builder hand each weight its own
   * generator without generating the weights before it.
   */
  skip(draws: number): this {
    if (!Number.isSafeInteger(draws) || draws < 0) throw new RangeError(`skip: draws must be a non-negative integer, got ${draws}`);
    // (state + draws * step) mod 2^32, exact: the product is taken modulo 2^32 in two halves.
    const lo = draws % 0x10000;
    const hi = Math.floor(draws / 0x10000) % 0x10000;
    const step = Math.imul(lo, 0x6d2b79f5) + Math.imul(Math.imul(hi, 0x6d2b79f5), 0x10000);
    this.state = (this.state + step) >>> 0;
    return this;
  }

  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.next();
    return out;
  }
}
