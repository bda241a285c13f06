// @ts-check
/**
 * Every job enters BullMQ through src/jobs/producer.ts, where the job-id rules live: an
 * `add`/`addBulk` on a member of `queues` (`queues.send.add(…)`, `deps.queues.mail.addBulk(…)`)
 * anywhere else is an error. Used as `no-restricted-syntax` options in eslint.config.js.
 */
const message = "add jobs through src/jobs/producer.ts (the one place that makes job ids), not on a queue directly";

export const jobsThroughProducer = [
  { selector: "CallExpression[callee.property.name=/^(add|addBulk)$/][callee.object.object.name='queues']", message },
  { selector: "CallExpression[callee.property.name=/^(add|addBulk)$/][callee.object.object.property.name='queues']", message },
];
