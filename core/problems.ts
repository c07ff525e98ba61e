/** Where a secret is read from: a file (checked for owner and mode) or an environment variable. Never the value. */
export interface SecretRef {
  file?: string
  env?: string
}

/** A validation problem in a device config section: the field (path below the device) and what was expected. */
export interface FieldProblem {
  path: (string | number)[]
  message: string
}
