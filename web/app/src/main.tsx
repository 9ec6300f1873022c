import './styles.css';

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'urql';
import { App } from './App';
import { client } from './graphql/client';
import { ToastProvider } from './notifications/Toasts';

const container = document.getElementById('root');
if (!container) throw new Error('#root container missing');

createRoot(container).render(
  <StrictMode>
    <Provider value={client}>
      <ToastProvider>
        <App />
      </ToastProvider>
    </Provider>
  </StrictMode>,
);
