package backup

// ToolPath exposes toolPath to the tests.
var ToolPath = toolPath
