// The predictor matches past runs by it and history stores it: it lives with the predictor,
// which history already depends on, so that neither folder imports the other both ways.
export { templateFingerprint } from '../predictor/learning/template-fingerprint.js';
