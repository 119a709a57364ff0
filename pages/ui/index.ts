import './styles.css';

export { Button, ButtonLink } from './Button';
export { Layout } from './Layout';
export type { NavItem } from './Layout';
export { TextField } from './TextField';
export { Alert, EmptyState, ErrorState, Loading } from './states';
export { formatDate, formatDuration, formatWait } from './format';
