import { useId } from 'react';

/** An on / off switch: a button with role=switch (Space and Enter toggle it), named by its visible label. */
export function Switch({
  label,
  name,
  checked,
  onChange,
  hint,
  disabled,
}: {
  label: string;
  name: string;
  checked: boolean;
  onChange: (on: boolean) => void;
  hint?: string;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div className="hc-field">
      <label id={`${id}-label`} htmlFor={id}>
        {label}
      </label>
      <button
        id={id}
        type="button"
        role="switch"
        name={name}
        disabled={disabled}
        aria-checked={checked}
        aria-labelledby={`${id}-label`}
        aria-describedby={hint ? `${id}-hint` : undefined}
        className="hc-switch"
        onClick={() => onChange(!checked)}
      >
        <span className="hc-switch-track" aria-hidden="true">
          <span className="hc-switch-thumb" />
        </span>
        <span className="hc-switch-state" aria-hidden="true">
          {checked ? 'On' : 'Off'}
        </span>
      </button>
      {hint && (
        <span id={`${id}-hint`} className="hc-field-hint" aria-live="polite">
          {hint}
        </span>
      )}
    </div>
  );
}
