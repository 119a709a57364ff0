import './styles.css';

export { Button, ButtonLink } from './Button';
export { Layout } from './Layout';
export type { NavItem } from './Layout';
export { TextArea, TextField } from './TextField';
export { ChoiceGroup } from './ChoiceGroup';
export type { Choice } from './ChoiceGroup';
export { Alert, EmptyState, ErrorState, Loading } from './states';
export { ConfirmDialog } from './ConfirmDialog';
export { formatClock, formatDate, formatDuration, formatWait } from './format';
