import type WebSocket from 'ws';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Above this many queued bytes a sender waits for the socket to drain (back-pressure). */
const HIGH_WATER_BYTES = 8 << 20;

/**
 * Sends one binary frame and resolves once ws has handed it to the operating system. When more than
 * HIGH_WATER_BYTES are already queued on the socket it first waits for them to drain, so a fast producer cannot
 * pile up unbounded buffers behind a slow link.
 */
export async function sendFrame(ws: WebSocket, frame: Uint8Array): Promise<void> {
  while (ws.bufferedAmount > HIGH_WATER_BYTES && ws.readyState === ws.OPEN) await sleep(1);
  await new Promise<void>((resolve, reject) => {
    if (ws.readyState !== ws.OPEN) {
      reject(new Error('connection closed'));
      return;
    }
    ws.send(frame, { binary: true }, (error) => (error ? reject(error) : resolve()));
  });
}
