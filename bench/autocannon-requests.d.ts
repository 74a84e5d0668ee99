// Adds to autocannon.d.ts what the data scenarios use: a request built anew for every call.
declare module 'autocannon' {
  interface RequestParams {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  }

  interface Options {
    /** Each connection loops over these; `setupRequest` runs before every call and returns what to send. */
    requests?: {
      setupRequest?: (request: RequestParams, context: Record<string, unknown>) => RequestParams;
    }[];
  }
}
