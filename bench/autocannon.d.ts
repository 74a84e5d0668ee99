// autocannon ships no types and @types/autocannon is not installed: this covers only what the bench uses.
declare module 'autocannon' {
  interface Options {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    /** Seconds; fractions are fine. */
    duration?: number;
  }

  interface Result {
    /** Seconds the run actually took. */
    duration: number;
    /** Connection errors and timeouts. */
    errors: number;
    timeouts: number;
    non2xx: number;
  }

  /** A running load: awaitable for its result, and stoppable early. */
  interface Instance extends PromiseLike<Result> {
    stop(): void;
    /** Every completed response: its status, bytes on the wire (headers included) and latency in ms. */
    on(
      event: 'response',
      listener: (client: unknown, statusCode: number, bytes: number, latencyMs: number) => void,
    ): this;
  }

  export default function autocannon(options: Options): Instance;
}
