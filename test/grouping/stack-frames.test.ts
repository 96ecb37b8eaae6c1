import { describe, expect, it } from "vitest";
import { firstInAppFrame, frameKey, parseStackTrace } from "../../src/grouping/stack-frames.ts";
import { PRICING_STACK } from "../helpers/spans.ts";

describe("parseStackTrace", () => {
  it("parses V8 frames and marks node_modules and node internals as library code", () => {
    const frames = parseStackTrace(
      `${PRICING_STACK}\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)`,
    );
    expect(frames.map((f) => [f.function, f.file, f.line, f.inApp])).toEqual([
      ["applyDiscount", "/srv/billing-service/src/pricing.js", 7, true],
      ["invoiceTotal", "/srv/billing-service/src/pricing.js", 14, true],
      ["handle", "/srv/billing-service/src/handlers.js", 9, true],
      ["Layer.handle", "/srv/billing-service/node_modules/express/lib/router/layer.js", 95, false],
      ["process.processTicksAndRejections", "node:internal/process/task_queues", 95, false],
    ]);
  });

  it("parses V8 frames without a function name and file:// URLs", () => {
    const [frame] = parseStackTrace("Error: x\n    at file:///app/src/main.mjs:3:9");
    expect(frame).toMatchObject({ function: "<anonymous>", file: "/app/src/main.mjs", line: 3, column: 9 });
  });

  it("parses Python tracebacks innermost first and skips site-packages", () => {
    const frames = parseStackTrace(
      [
        "Traceback (most recent call last):",
        '  File "/app/billing/api.py", line 20, in post',
        "    total = compute(order)",
        '  File "/usr/lib/python3.12/site-packages/requests/api.py", line 59, in get',
        '  File "/app/billing/pricing.py", line 7, in compute',
        "KeyError: 'discounts'",
      ].join("\n"),
    );
    expect(frames.map((f) => `${f.function}@${f.file}:${f.line}:${f.inApp}`)).toEqual([
      "compute@/app/billing/pricing.py:7:true",
      "get@/usr/lib/python3.12/site-packages/requests/api.py:59:false",
      "post@/app/billing/api.py:20:true",
    ]);
  });

  it("parses Java and Go frames", () => {
    const java = parseStackTrace(
      "java.lang.NullPointerException\n\tat java.base/java.util.Objects.requireNonNull(Objects.java:209)\n\tat com.acme.billing.Pricing.apply(Pricing.java:42)",
    );
    expect(firstInAppFrame(java)).toMatchObject({
      function: "com.acme.billing.Pricing.apply",
      file: "com/acme/billing/Pricing.java",
      line: 42,
    });
    const go = parseStackTrace(
      "panic: runtime error\n\ngoroutine 1 [running]:\nmain.applyDiscount(...)\n\t/src/billing/pricing.go:12 +0x1d\nmain.main()\n\t/src/billing/main.go:8 +0x25",
    );
    expect(go.map((f) => `${f.function}@${f.file}:${f.line}`)).toEqual([
      "main.applyDiscount@/src/billing/pricing.go:12",
      "main.main@/src/billing/main.go:8",
    ]);
  });

  it("keys a frame by function and trailing path, not by line or checkout directory", () => {
    const a = parseStackTrace("E\n    at applyDiscount (/srv/a/src/pricing.js:7:1)")[0];
    const b = parseStackTrace("E\n    at applyDiscount (/home/ci/build/src/pricing.js:9:3)")[0];
    expect(a && frameKey(a)).toBe("applyDiscount@src/pricing.js");
    expect(a && b && frameKey(a) === frameKey(b)).toBe(true);
  });

  it("returns no frames for text that is not a stack trace", () => {
    expect(parseStackTrace("")).toEqual([]);
    expect(parseStackTrace("just a message")).toEqual([]);
  });
});

describe("chained exceptions", () => {
  it("marks Java's last `Caused by:` as the root cause and suppressed exceptions as distant", () => {
    const frames = parseStackTrace(
      [
        "org.springframework.web.util.NestedServletException: Request processing failed",
        "\tat com.acme.web.OrderController.create(OrderController.java:41)",
        "\t... 12 more",
        "Caused by: com.acme.orders.OrderException: could not price order 17",
        "\tat com.acme.orders.OrderService.price(OrderService.java:88)",
        "\tSuppressed: java.io.IOException: close failed",
        "\t\tat com.acme.io.Stream.close(Stream.java:9)",
        "Caused by: java.lang.IllegalStateException: no rate for EUR",
        "\tat com.acme.pricing.Rates.lookup(Rates.java:23)",
        "\t... 30 more",
      ].join("\n"),
    );
    expect(frames.map((f) => [f.function.split(".").pop(), f.causeDepth])).toEqual([
      ["create", 2],
      ["price", 1],
      ["close", 3],
      ["lookup", 0],
    ]);
  });

  it("marks the first traceback of a Python chain as the root cause, innermost frames first", () => {
    const frames = parseStackTrace(
      [
        "Traceback (most recent call last):",
        '  File "/srv/app/app/clients/crm.py", line 38, in fetch',
        "    resp = self.session.get(url, timeout=5)",
        "requests.exceptions.ReadTimeout: read timed out",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "/srv/app/app/tasks/sync.py", line 88, in run',
        "    payload = client.fetch(account_id)",
        '  File "/srv/app/app/clients/crm.py", line 44, in fetch',
        '    return cached[account_id]["data"]',
        "KeyError: 'data'",
      ].join("\n"),
    );
    expect(frames.map((f) => [f.line, f.causeDepth])).toEqual([
      [44, 1],
      [88, 1],
      [38, 0],
    ]);
  });

  it("leaves a single exception's frames at the root cause", () => {
    expect(parseStackTrace(PRICING_STACK).every((f) => f.causeDepth === 0)).toBe(true);
  });
});

describe("formats evidence reads beyond grouping v1", () => {
  const frames = (text: string) =>
    parseStackTrace(text, { allFormats: true }).map((f) => [f.function, f.file, f.line, f.inApp]);

  it("reads Java 9+ frames with class-loader and module prefixes, and treats test harnesses as library code", () => {
    const text = [
      "java.lang.IllegalStateException: no rate",
      "\tat app//com.acme.pricing.Rates.lookup(Rates.java:23)",
      "\tat com.acme.core@1.4.0/com.acme.core.Money.of(Money.java:7)",
      "\tat java.base/java.util.HashMap.get(HashMap.java:556)",
      "\tat app//org.junit.jupiter.engine.execution.MethodInvocation.proceed(MethodInvocation.java:60)",
      "\tat OrphanTest.run(OrphanTest.java:12)",
    ].join("\n");
    expect(frames(text)).toEqual([
      ["com.acme.pricing.Rates.lookup", "com/acme/pricing/Rates.java", 23, true],
      ["com.acme.core.Money.of", "com/acme/core/Money.java", 7, true],
      ["java.util.HashMap.get", "java/util/HashMap.java", 556, false],
      [
        "org.junit.jupiter.engine.execution.MethodInvocation.proceed",
        "org/junit/jupiter/engine/execution/MethodInvocation.java",
        60,
        false,
      ],
      ["OrphanTest.run", "OrphanTest.java", 12, true],
    ]);
    // Grouping v1 keeps its frame set: the prefixed lines stay invisible to fingerprints.
    expect(parseStackTrace(text).map((f) => f.function)).toEqual(["OrphanTest.run"]);
  });

  it("reads .NET and Ruby frames", () => {
    expect(
      frames(
        [
          "System.InvalidOperationException: Sequence contains no elements",
          "   at System.Linq.ThrowHelper.ThrowNoElementsException()",
          "   at Acme.Orders.OrderService.Price(Order order) in /src/Acme.Orders/OrderService.cs:line 42",
        ].join("\n"),
      ),
    ).toEqual([
      ["System.Linq.ThrowHelper.ThrowNoElementsException", "", null, false],
      ["Acme.Orders.OrderService.Price", "/src/Acme.Orders/OrderService.cs", 42, true],
    ]);
    expect(
      frames(
        [
          "/srv/app/app/models/order.rb:42:in 'Order#price': undefined method 'rate' for nil (NoMethodError)",
          "\tfrom /srv/app/app/controllers/orders_controller.rb:9:in `create'",
          "\tfrom /usr/local/bundle/gems/actionpack-7.1.3/lib/abstract_controller/base.rb:224:in `process_action'",
        ].join("\n"),
      ),
    ).toEqual([
      ["price", "/srv/app/app/models/order.rb", 42, true],
      ["create", "/srv/app/app/controllers/orders_controller.rb", 9, true],
      [
        "process_action",
        "/usr/local/bundle/gems/actionpack-7.1.3/lib/abstract_controller/base.rb",
        224,
        false,
      ],
    ]);
  });
});
