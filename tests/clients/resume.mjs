// Follow the change feed with the npm graphql-ws client, as an integrator would.
//
//   node resume.mjs <ws url> <api key> <after position> <count>
//
// Subscribes to `events(after: <after position>)`, prints each event received
// as one JSON line on stdout, and exits (status 0) once it has <count> of
// them, unsubscribing and closing the socket as a client does. Any error,
// an early close or an early completion is one line on stderr and status 1;
// a feed that goes quiet before <count> events, status 2 after 15 seconds.
//
// Automatic reconnection is off: graphql-ws would resubscribe with the same
// variables (the `after` it started from), so a silent retry would replay
// events already printed. The test resumes by running this script again
// with the last position it printed.

import { createClient } from "graphql-ws";
import WebSocket from "ws";

const QUIET_LIMIT_MS = 15_000;
const FOLLOW = `subscription Follow($after: Position) {
  events(after: $after) { position type eventId streamId version }
}`;

const [url, key, afterArg, countArg] = process.argv.slice(2);
if (!url || !key || afterArg === undefined || !countArg) {
  console.error("usage: node resume.mjs <ws url> <api key> <after> <count>");
  process.exit(64);
}
const after = Number.parseInt(afterArg, 10);
const count = Number.parseInt(countArg, 10);

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${key}` },
  retryAttempts: 0,
  lazy: true,
});

let received = 0;
let finished = false;

function finish(status, message) {
  if (finished) return;
  finished = true;
  clearTimeout(quiet);
  if (message) console.error(message);
  process.exitCode = status;
  unsubscribe();
  client.dispose();
}

const quiet = setTimeout(
  () => finish(2, `quiet for ${QUIET_LIMIT_MS} ms after ${received} of ${count} events`),
  QUIET_LIMIT_MS,
);

const unsubscribe = client.subscribe(
  { query: FOLLOW, operationName: "Follow", variables: { after } },
  {
    next: (result) => {
      if (finished) return;
      if (result.errors) {
        finish(1, `errors: ${JSON.stringify(result.errors)}`);
        return;
      }
      process.stdout.write(`${JSON.stringify(result.data.events)}\n`);
      received += 1;
      if (received >= count) finish(0);
    },
    error: (error) => {
      let detail;
      if (error instanceof Error) detail = error.message;
      else if (error && typeof error === "object" && "code" in error)
        detail = `closed ${error.code} ${error.reason}`;
      else detail = JSON.stringify(error); // the `error` message's GraphQL errors
      finish(1, `error: ${detail}`);
    },
    complete: () => finish(1, `completed after ${received} of ${count} events`),
  },
);
