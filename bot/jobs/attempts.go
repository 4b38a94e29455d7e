package jobs

// MaxAttempts is how many times a job is tried before it fails for good.
// The bot reports a job's last failure itself when its attempt reaches this
// number, so River's own limit (New) must not be lower.
const MaxAttempts = 5
