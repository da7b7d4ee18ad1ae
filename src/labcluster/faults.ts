// Fault injection for both listeners (lab-only, no Nomad counterpart): extra latency and a share
// of API requests answered with an error, set through the /_lab/faults admin API.
import { sendText, type Ctx } from './http';

export interface Faults {
  /** extra latency for every API request (ms) */
  delayMs: number;
  /** share of API requests (0..1) answered with `status` */
  errorRate: number;
  status: number;
  message: string;
  /** which listener(s) the faults apply to */
  target: 'nomad' | 'consul' | 'both';
  /** only paths starting with this */
  pathPrefix: string;
}

export const noFaults = (): Faults => ({ delayMs: 0, errorRate: 0, status: 500, message: 'lab fault injection: simulated server error', target: 'both', pathPrefix: '/v1/' });

export async function faultGate(ctx: Ctx, faults: Faults, listener: 'nomad' | 'consul'): Promise<boolean> {
  if (faults.target !== 'both' && faults.target !== listener) return false;
  if (!ctx.path.startsWith(faults.pathPrefix)) return false;
  if (faults.delayMs > 0) await new Promise((r) => setTimeout(r, faults.delayMs));
  if (faults.errorRate > 0 && Math.random() < faults.errorRate) {
    sendText(ctx, faults.status, faults.message);
    return true;
  }
  return false;
}
