export { DirectDebitsPage } from './DirectDebitsPage';
