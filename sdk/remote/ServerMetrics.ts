/**
 * The engine server's counters, served as Prometheus text (`GET /metrics`). Counters only grow;
 * gauges are read live. Rates (tokens/s) are Prometheus's `rate()` of the counters; the last
 * request's decode speed is a gauge for a quick look.
 */
export class ServerMetrics {
  readonly #requests = new Map<string, number>();
  readonly #errors = new Map<string, number>();
  generatedTokens = 0;
  /** Forward passes of finished requests (the live total, cancelled work included, comes from the backend). */
  forwardPasses = 0;
  decodeSeconds = 0;
  lastTokensPerSecond = 0;
  connectionsTotal = 0;
  closedByServer = new Map<number, number>();

  /** A request ended: `outcome` is done, or the error code. */
  request(task: string, outcome: string): void {
    const key = `task="${task}",outcome="${outcome}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    if (outcome !== 'done') this.#errors.set(outcome, (this.#errors.get(outcome) ?? 0) + 1);
  }

  usage(generated: number, passes: number, decodeMs: number): void {
    this.generatedTokens += generated;
    this.forwardPasses += passes;
    this.decodeSeconds += decodeMs / 1000;
    if (decodeMs > 0) this.lastTokensPerSecond = generated / (decodeMs / 1000);
  }

  closed(code: number): void {
    this.closedByServer.set(code, (this.closedByServer.get(code) ?? 0) + 1);
  }

  render(live: { queueDepth: number; running: number; connections: number; forwardPasses?: number }): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[string, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) lines.push(`${name}${labels ? `{${labels}}` : ''} ${v}`);
    };
    metric('emu_requests_total', 'counter', 'Requests ended, by task and outcome (done or the error code).', [...this.#requests]);
    metric('emu_errors_total', 'counter', 'Requests that ended in an error, by code.', [...this.#errors].map(([code, n]) => [`code="${code}"`, n]));
    metric('emu_queue_depth', 'gauge', 'Requests waiting for an engine slot.', [['', live.queueDepth]]);
    metric('emu_requests_running', 'gauge', 'Requests running on the engine.', [['', live.running]]);
    metric('emu_connections', 'gauge', 'Open client connections.', [['', live.connections]]);
    metric('emu_connections_total', 'counter', 'Client connections accepted.', [['', this.connectionsTotal]]);
    metric('emu_generated_tokens_total', 'counter', 'Tokens generated.', [['', this.generatedTokens]]);
    metric('emu_forward_passes_total', 'counter', 'Decoder forward passes (both guidance streams).', [['', live.forwardPasses ?? this.forwardPasses]]);
    metric('emu_decode_seconds_total', 'counter', 'Time spent decoding, for rate(tokens)/rate(seconds).', [['', this.decodeSeconds]]);
    metric('emu_last_tokens_per_second', 'gauge', 'Decode speed of the last finished request.', [['', this.lastTokensPerSecond]]);
    metric('emu_connections_closed_total', 'counter', 'Connections the server closed, by WebSocket close code.', [...this.closedByServer].map(([code, n]) => [`code="${code}"`, n]));
    return `${lines.join('\n')}\n`;
  }
}
