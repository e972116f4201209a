import { useEffect, useState } from 'preact/hooks';

import { useAnnounce } from '../session';

type CopyState = 'idle' | 'copied' | 'failed';

/**
 * Renders a "Copy" button and shows the result beside it. The button keeps its name while "Copied"
 * shows, so it can be pressed again. When the browser rejects clipboard access, the reader is asked to
 * copy the text by hand.
 */
export function CopyButton({ text, description }: { text: string; description: string }) {
  const [state, setState] = useState<CopyState>('idle');
  const announce = useAnnounce();

  useEffect(() => {
    if (state === 'idle') {
      return undefined;
    }

    const timer = window.setTimeout(() => setState('idle'), state === 'copied' ? 2500 : 8000);

    return () => window.clearTimeout(timer);
  }, [state]);

  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
      announce(`Copied the ${description}`);
    } catch {
      setState('failed');
      announce('The browser did not allow copying; select the text and copy it by hand');
    }
  };

  return (
    <span class="copy">
      <button type="button" class="button-small" onClick={() => void copy()}>
        Copy
      </button>
      {state === 'copied' && (
        <span class="copy-result copy-ok" aria-hidden="true">
          Copied
        </span>
      )}
      {state === 'failed' && (
        <span class="copy-result copy-failed" aria-hidden="true">
          Copying is not allowed here; select the text and copy it by hand.
        </span>
      )}
    </span>
  );
}

/**
 * Shows a shell command in monospace, in a group named by `label` ("Pull command"), with a Copy
 * button unless `copy` is false.
 */
export function CommandBox({
  label,
  command,
  copy = true,
}: {
  label: string;
  command: string;
  copy?: boolean;
}) {
  return (
    <div class="command" role="group" aria-label={label}>
      <code>{command}</code>
      {copy && <CopyButton text={command} description={label.toLowerCase()} />}
    </div>
  );
}
