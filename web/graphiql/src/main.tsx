// Monaco workers must be registered before any editor is created.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './signin.css';

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';

const container = document.getElementById('graphiql');
if (!container) throw new Error('#graphiql container missing');

createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
