export { LoanDetail } from './LoanDetail';
export { LoansPage } from './LoansPage';
export { StaffLoans } from './StaffLoans';
