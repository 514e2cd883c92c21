import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Every line written inside a traced request or job carries its trace, so one order can be
// followed across processes with grep (`traceId` here, `orderId` from the call site).
function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan()?.spanContext();
  return span && isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : {};
}

// Writes to stdout unless given another destination (tests read the lines back).
export function createLogger(
  level: string,
  processName: string,
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: { proc: processName },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceFields,
  };
  return destination ? pino(options, destination) : pino(options);
}
