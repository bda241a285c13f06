/**
 * The send benchmark's SMTP sink, in its own process so it does not share the
 * sender's event loop: accepts every message, counts messages and bytes, keeps none.
 */
import { SMTPServer } from "smtp-server";

let messages = 0;
let bytes = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  disableReverseLookup: true,
  logger: false,
  size: 10 * 1024 * 1024,
  onData(stream, _session, callback) {
    stream.on("data", (c: Buffer) => (bytes += c.length));
    stream.on("end", () => {
      messages++;
      callback();
    });
  },
});
server.listen(0, "127.0.0.1", () => {
  const address = server.server.address();
  process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
});
process.on("message", (m: { type: string }) => {
  if (m.type === "stats") process.send?.({ messages, bytes, cpuMicros: process.cpuUsage().user + process.cpuUsage().system });
  if (m.type === "reset") {
    messages = 0;
    bytes = 0;
    process.send?.({ reset: true });
  }
  if (m.type === "stop") server.close(() => process.exit(0));
});
