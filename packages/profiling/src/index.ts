export { PROFILE_KINDS, isTimed, type ProfileKind } from './profile-kind.js';
export { ProfileAgent, type AgentLogger, type Pause, type ProfileAgentOptions } from './profile-agent.js';
export { ProfileDesk, ProfileRefusedError, type ProfileFile, type ProfileStatus } from './profile-desk.js';
export type { ProfileState } from './profile-store.js';
export { ProfileTooLargeError } from './record-profile.js';
