import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "../../src/db/errors.js";

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe("database unavailability", () => {
  it("recognises a server that is going, gone or not yet back, or a transaction it rolled back to be tried again, however it is wrapped", () => {
    const cases = [
      withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"),
      withCode("terminating connection due to administrator command", "57P01"),
      withCode("terminating connection because of crash of another server process", "57P02"),
      withCode("the database system is starting up", "57P03"),
      withCode("connection failure", "08006"),
      withCode("sorry, too many clients already", "53300"),
      // rolled back because of transactions beside it: the same request succeeds when tried again
      withCode("deadlock detected", "40P01"),
      withCode("could not serialize access due to concurrent update", "40001"),
      new Error("Connection terminated unexpectedly"),
      new Error("timeout exceeded when trying to connect"),
      // drizzle's wrapper around the pg error, and a connect to every address of a name failing at once
      new Error("Failed query: select 1\nparams: ", { cause: withCode("terminating connection due to administrator command", "57P01") }),
      new AggregateError([withCode("connect ECONNREFUSED ::1:5432", "ECONNREFUSED")], "connect failed"),
    ];
    for (const err of cases) expect(isDatabaseUnavailable(err), String(err)).toBe(true);
  });

  it("leaves the request's own errors alone: constraint violations, bad SQL, timeouts of one statement", () => {
    const cases = [
      withCode('duplicate key value violates unique constraint "subscribers_email"', "23505"),
      withCode('syntax error at or near "selec"', "42601"),
      withCode("canceling statement due to statement timeout", "57014"),
      new Error("Failed query: insert\nparams: ", { cause: withCode("value too long", "22001") }),
      "a string",
      null,
    ];
    for (const err of cases) expect(isDatabaseUnavailable(err), String(err)).toBe(false);
  });
});
