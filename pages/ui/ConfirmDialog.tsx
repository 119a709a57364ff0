import type { ReactNode } from 'react';
import { useEffect, useId, useRef } from 'react';
import { Button } from './Button';

/**
 * A question that must be answered before something happens, as a modal native <dialog>: focus moves
 * into it and stays there, Escape is the way back, and focus returns where it was on close.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  cancelLabel = 'Go back',
  busy,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className="hc-dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        // Escape: the dialog closes through `open`, so React stays the one deciding.
        e.preventDefault();
        if (!busy) onClose();
      }}
    >
      {open && (
        <div className="hc-stack">
          <h2 id={titleId}>{title}</h2>
          {children}
          <div className="hc-row">
            <Button onClick={onConfirm} busy={busy} autoFocus>
              {confirmLabel}
            </Button>
            <Button variant="secondary" onClick={onClose} disabled={busy}>
              {cancelLabel}
            </Button>
          </div>
        </div>
      )}
    </dialog>
  );
}
