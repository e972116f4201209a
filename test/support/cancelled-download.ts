import assert from 'node:assert/strict';

/**
 * Starts a GET of `url`, reads the first chunk of its body, then aborts the request, as a client that
 * cancels a download does. Returns the response, whose status and headers arrived before the abort.
 */
export async function cancelDownload(url: string): Promise<Response> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });

  assert.equal(response.status, 200);
  assert.ok(response.body !== null, 'the response has no body');

  const reader = response.body.getReader();

  await reader.read();
  controller.abort();
  await reader.cancel().catch(() => undefined);

  return response;
}
