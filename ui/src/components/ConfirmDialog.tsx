import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

import { messageOf } from './states';

export interface ConfirmDialogProps {
  title: string;
  children: ComponentChildren;
  /** Text of the button that confirms, such as "Delete". */
  confirmLabel: string;
  /** Runs the action; a rejection keeps the dialog open and shows the error. */
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/**
 * Asks for confirmation in a modal native `<dialog>`, which traps focus and closes on Escape. Cancel
 * gets the focus first, so pressing Enter by habit does not destroy anything.
 */
export function ConfirmDialog({ title, children, confirmLabel, onConfirm, onClose }: ConfirmDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>(undefined);
  const confirmed = useRef(false);

  useEffect(() => {
    const element = dialog.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;

    if (element && !element.open) {
      element.showModal();
      cancel.current?.focus();
    }

    return () => {
      element?.close();
      // Keyboard users continue where they were. A confirmed action usually removes the button that
      // opened the dialog (a deleted row), so focus then goes to the page's main region.
      const target = confirmed.current || !opener?.isConnected ? document.getElementById('main') : opener;

      target?.focus({ preventScroll: confirmed.current });
    };
  }, []);

  const confirm = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);

    try {
      await onConfirm();
      confirmed.current = true;
      onClose();
    } catch (failure) {
      setError(failure instanceof Error ? failure : new Error(String(failure)));
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="dialog"
      aria-labelledby="dialog-title"
      onCancel={(event) => {
        event.preventDefault();

        if (!busy) {
          onClose();
        }
      }}
    >
      <h2 id="dialog-title">{title}</h2>
      <div class="dialog-body">{children}</div>
      {error && (
        <p class="form-error" role="alert">
          {messageOf(error)}
        </p>
      )}
      <div class="dialog-actions">
        <button type="button" ref={cancel} onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button type="button" class="button-danger" onClick={() => void confirm()} disabled={busy}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
