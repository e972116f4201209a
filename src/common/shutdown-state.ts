import { Injectable } from '@nestjs/common';

/**
 * Whether the process has begun to shut down, and until when its grace period runs. The signal handler
 * sets it once; from then on the readiness probe fails and new uploads are rejected, while requests
 * already in flight may finish.
 */
@Injectable()
export class ShutdownState {
  private started = false;
  private deadline: number | undefined;

  get inProgress(): boolean {
    return this.started;
  }

  /** Starts the shutdown, whose grace period ends `graceMs` from now when given. */
  begin(graceMs?: number): void {
    this.started = true;
    this.deadline = graceMs === undefined ? undefined : Date.now() + graceMs;
  }

  /** Returns the milliseconds left of the grace period, or undefined when none was given. */
  remainingGraceMs(): number | undefined {
    return this.deadline === undefined ? undefined : Math.max(this.deadline - Date.now(), 0);
  }
}
