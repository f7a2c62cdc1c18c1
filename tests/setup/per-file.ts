import { setPasswordCost } from '../../src/services/passwords.js';

// Tests sign in many times: the cheapest scrypt cost the app accepts (stored hashes carry it).
setPasswordCost(14);
