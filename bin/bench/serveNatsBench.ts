/** bench:serve's NATS part: throughput with 1, 2 and 4 workers (filled in with the NATS workers). */
export async function natsThroughput(_options: { natsUrl: string; modelDir: string; log: (line: string) => void }): Promise<string | undefined> {
  return undefined;
}
