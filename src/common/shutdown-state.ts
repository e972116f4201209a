import { Injectable } from '@nestjs/common';

/**
 * Whether the process has begun to shut down. The signal handler sets it once; from then on the
 * readiness probe fails and new uploads are rejected, while requests already in flight may finish.
 */
@Injectable()
export class ShutdownState {
  private started = false;

  get inProgress(): boolean {
    return this.started;
  }

  begin(): void {
    this.started = true;
  }
}
