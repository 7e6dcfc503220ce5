/**
 * onnxruntime-node 1.30's Linux library carries Microsoft's 1DS telemetry client: the first session of a process
 * starts it, it would send usage events to Microsoft's collector and it leaves an empty `mat-debug-<pid>.log` in the
 * temporary folder. `ORT_DISABLE_TELEMETRY=1` (read when the first session is created) turns it off. A value the user
 * set is kept, so `ORT_DISABLE_TELEMETRY=0` opts back in. Called by the CLI at start and by the library entry point.
 */
export function disableOrtTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}
