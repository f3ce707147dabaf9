import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { ResourceUsage } from './worker-contract.js';

/**
 * Measures this process's usage for heartbeats: cumulative CPU time, RSS, V8 heap and the
 * event-loop utilisation since the previous sample (so each heartbeat says how busy the loop was
 * in its own interval, not since start).
 */
export class UsageMeter {
  #lastElu: EventLoopUtilization = performance.eventLoopUtilization();

  /** Takes one sample. */
  sample(): ResourceUsage {
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const elu = performance.eventLoopUtilization(this.#lastElu);
    this.#lastElu = performance.eventLoopUtilization();
    return {
      cpu_user_us: cpu.user,
      cpu_system_us: cpu.system,
      rss_bytes: memory.rss,
      heap_used_bytes: memory.heapUsed,
      event_loop_utilization: Number.isFinite(elu.utilization) ? elu.utilization : 0,
      at: new Date().toISOString(),
    };
  }
}
