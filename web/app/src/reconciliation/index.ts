export { ReconciliationPage } from './ReconciliationPage';
