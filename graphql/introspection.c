/*
 * Introspection (spec section 4): the built-in scalars, directives and
 * __Schema/__Type/... types as SDL text loaded into every schema, and their
 * resolvers, which are ordinary resolvers over pointers into the schema:
 * a __Type value is a GQL_V_PTR to a struct tref (named or wrapper), a
 * __Field to a gql_field_def, an __InputValue to a gql_input_def, an
 * __EnumValue to a gql_enum_def and a __Directive to a gql_dir_def.
 * gql_introspection_query is the query graphql-js getIntrospectionQuery()
 * produces with specifiedByUrl and directiveIsRepeatable enabled.
 */
#include "graphql/gql_int.h"

const char gql__introspection_sdl[] =
	"\"The `Int` scalar type represents non-fractional signed whole numeric values. "
	"Int can represent values between -(2^31) and 2^31 - 1.\"\n"
	"scalar Int\n"
	"\"The `Float` scalar type represents signed double-precision fractional values as "
	"specified by [IEEE 754](https://en.wikipedia.org/wiki/IEEE_floating_point).\"\n"
	"scalar Float\n"
	"\"The `String` scalar type represents textual data, represented as UTF-8 character "
	"sequences. The String type is most often used by GraphQL to represent free-form "
	"human-readable text.\"\n"
	"scalar String\n"
	"\"The `Boolean` scalar type represents `true` or `false`.\"\n"
	"scalar Boolean\n"
	"\"The `ID` scalar type represents a unique identifier, often used to refetch an "
	"object or as key for a cache. The ID type appears in a JSON response as a String; "
	"however, it is not intended to be human-readable. When expected as an input type, "
	"any string (such as `\\\"4\\\"`) or integer (such as `4`) input value will be "
	"accepted as an ID.\"\n"
	"scalar ID\n"
	"\"Directs the executor to include this field or fragment only when the `if` "
	"argument is true.\"\n"
	"directive @include(\"Included when true.\" if: Boolean!) "
	"on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT\n"
	"\"Directs the executor to skip this field or fragment when the `if` argument is "
	"true.\"\n"
	"directive @skip(\"Skipped when true.\" if: Boolean!) "
	"on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT\n"
	"\"Marks an element of a GraphQL schema as no longer supported.\"\n"
	"directive @deprecated(\"Explains why this element was deprecated, usually also "
	"including a suggestion for how to access supported similar data. Formatted using "
	"the Markdown syntax, as specified by [CommonMark](https://commonmark.org/).\" "
	"reason: String = \"No longer supported\") "
	"on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | ENUM_VALUE\n"
	"\"Exposes a URL that specifies the behavior of this scalar.\"\n"
	"directive @specifiedBy(\"The URL that specifies the behavior of this scalar.\" "
	"url: String!) on SCALAR\n"
	"\"A GraphQL Schema defines the capabilities of a GraphQL server. It exposes all "
	"available types and directives on the server, as well as the entry points for "
	"query, mutation, and subscription operations.\"\n"
	"type __Schema {\n"
	"  description: String\n"
	"  \"A list of all types supported by this server.\"\n"
	"  types: [__Type!]!\n"
	"  \"The type that query operations will be rooted at.\"\n"
	"  queryType: __Type!\n"
	"  \"If this server supports mutation, the type that mutation operations will be "
	"rooted at.\"\n"
	"  mutationType: __Type\n"
	"  \"If this server support subscription, the type that subscription operations "
	"will be rooted at.\"\n"
	"  subscriptionType: __Type\n"
	"  \"A list of all directives supported by this server.\"\n"
	"  directives: [__Directive!]!\n"
	"}\n"
	"\"The fundamental unit of any GraphQL Schema is the type. There are many kinds of "
	"types in GraphQL as represented by the `__TypeKind` enum.\"\n"
	"type __Type {\n"
	"  kind: __TypeKind!\n"
	"  name: String\n"
	"  description: String\n"
	"  specifiedByURL: String\n"
	"  fields(includeDeprecated: Boolean = false): [__Field!]\n"
	"  interfaces: [__Type!]\n"
	"  possibleTypes: [__Type!]\n"
	"  enumValues(includeDeprecated: Boolean = false): [__EnumValue!]\n"
	"  inputFields(includeDeprecated: Boolean = false): [__InputValue!]\n"
	"  ofType: __Type\n"
	"}\n"
	"\"An enum describing what kind of type a given `__Type` is.\"\n"
	"enum __TypeKind {\n"
	"  \"Indicates this type is a scalar.\" SCALAR\n"
	"  \"Indicates this type is an object. `fields` and `interfaces` are valid fields.\" "
	"OBJECT\n"
	"  \"Indicates this type is an interface. `fields`, `interfaces`, and `possibleTypes` "
	"are valid fields.\" INTERFACE\n"
	"  \"Indicates this type is a union. `possibleTypes` is a valid field.\" UNION\n"
	"  \"Indicates this type is an enum. `enumValues` is a valid field.\" ENUM\n"
	"  \"Indicates this type is an input object. `inputFields` is a valid field.\" "
	"INPUT_OBJECT\n"
	"  \"Indicates this type is a list. `ofType` is a valid field.\" LIST\n"
	"  \"Indicates this type is a non-null. `ofType` is a valid field.\" NON_NULL\n"
	"}\n"
	"\"Object and Interface types are described by a list of Fields, each of which has a "
	"name, potentially a list of arguments, and a return type.\"\n"
	"type __Field {\n"
	"  name: String!\n"
	"  description: String\n"
	"  args(includeDeprecated: Boolean = false): [__InputValue!]!\n"
	"  type: __Type!\n"
	"  isDeprecated: Boolean!\n"
	"  deprecationReason: String\n"
	"}\n"
	"\"Arguments provided to Fields or Directives and the input fields of an "
	"InputObject are represented as Input Values which describe their type and "
	"optionally a default value.\"\n"
	"type __InputValue {\n"
	"  name: String!\n"
	"  description: String\n"
	"  type: __Type!\n"
	"  \"A GraphQL-formatted string representing the default value for this input "
	"value.\"\n"
	"  defaultValue: String\n"
	"  isDeprecated: Boolean!\n"
	"  deprecationReason: String\n"
	"}\n"
	"\"One possible value for a given Enum. Enum values are unique values, not a "
	"placeholder for a string or numeric value. However an Enum value is returned in a "
	"JSON response as a string.\"\n"
	"type __EnumValue {\n"
	"  name: String!\n"
	"  description: String\n"
	"  isDeprecated: Boolean!\n"
	"  deprecationReason: String\n"
	"}\n"
	"\"A Directive provides a way to describe alternate runtime execution and type "
	"validation behavior in a GraphQL document.\"\n"
	"type __Directive {\n"
	"  name: String!\n"
	"  description: String\n"
	"  isRepeatable: Boolean!\n"
	"  locations: [__DirectiveLocation!]!\n"
	"  args(includeDeprecated: Boolean = false): [__InputValue!]!\n"
	"}\n"
	"\"A Directive can be adjacent to many parts of the GraphQL language, a "
	"__DirectiveLocation describes one such possible adjacencies.\"\n"
	"enum __DirectiveLocation {\n"
	"  QUERY MUTATION SUBSCRIPTION FIELD FRAGMENT_DEFINITION FRAGMENT_SPREAD\n"
	"  INLINE_FRAGMENT VARIABLE_DEFINITION SCHEMA SCALAR OBJECT FIELD_DEFINITION\n"
	"  ARGUMENT_DEFINITION INTERFACE UNION ENUM ENUM_VALUE INPUT_OBJECT\n"
	"  INPUT_FIELD_DEFINITION\n"
	"}\n";

const char gql_introspection_query[] = "\n"
				       "    query IntrospectionQuery {\n"
				       "      __schema {\n"
				       "        \n"
				       "        queryType { name kind }\n"
				       "        mutationType { name kind }\n"
				       "        subscriptionType { name kind }\n"
				       "        types {\n"
				       "          ...FullType\n"
				       "        }\n"
				       "        directives {\n"
				       "          name\n"
				       "          description\n"
				       "          isRepeatable\n"
				       "          \n"
				       "          \n"
				       "          locations\n"
				       "          args {\n"
				       "            ...InputValue\n"
				       "          }\n"
				       "        }\n"
				       "      }\n"
				       "    }\n"
				       "\n"
				       "    fragment FullType on __Type {\n"
				       "      kind\n"
				       "      name\n"
				       "      description\n"
				       "      specifiedByURL\n"
				       "      \n"
				       "      fields(includeDeprecated: true) {\n"
				       "        name\n"
				       "        description\n"
				       "        args {\n"
				       "          ...InputValue\n"
				       "        }\n"
				       "        type {\n"
				       "          ...TypeRef\n"
				       "        }\n"
				       "        isDeprecated\n"
				       "        deprecationReason\n"
				       "      }\n"
				       "      inputFields {\n"
				       "        ...InputValue\n"
				       "      }\n"
				       "      interfaces {\n"
				       "        ...TypeRef\n"
				       "      }\n"
				       "      enumValues(includeDeprecated: true) {\n"
				       "        name\n"
				       "        description\n"
				       "        isDeprecated\n"
				       "        deprecationReason\n"
				       "      }\n"
				       "      possibleTypes {\n"
				       "        ...TypeRef\n"
				       "      }\n"
				       "    }\n"
				       "\n"
				       "    fragment InputValue on __InputValue {\n"
				       "      name\n"
				       "      description\n"
				       "      type { ...TypeRef }\n"
				       "      defaultValue\n"
				       "      \n"
				       "      \n"
				       "    }\n"
				       "\n"
				       "    fragment TypeRef on __Type {\n"
				       "      kind\n"
				       "      name\n"
				       "      ofType {\n"
				       "        name\n"
				       "        kind\n"
				       "        ofType {\n"
				       "          name\n"
				       "          kind\n"
				       "          ofType {\n"
				       "            name\n"
				       "            kind\n"
				       "            ofType {\n"
				       "              name\n"
				       "              kind\n"
				       "              ofType {\n"
				       "                name\n"
				       "                kind\n"
				       "                ofType {\n"
				       "                  name\n"
				       "                  kind\n"
				       "                  ofType {\n"
				       "                    name\n"
				       "                    kind\n"
				       "                    ofType {\n"
				       "                      name\n"
				       "                      kind\n"
				       "                      ofType {\n"
				       "                        name\n"
				       "                        kind\n"
				       "                      }\n"
				       "                    }\n"
				       "                  }\n"
				       "                }\n"
				       "              }\n"
				       "            }\n"
				       "          }\n"
				       "        }\n"
				       "      }\n"
				       "    }\n"
				       "  ";

/* ---- resolvers ----------------------------------------------------------- */

static struct gql_value type_value(struct gql_exec *x, const struct gql_type *t)
{
	if (!t)
		return gql_null();
	struct tref *r = gql_alloc(x, sizeof *r);
	r->kind = TR_NAMED;
	r->type = (struct gql_type *)t;
	r->name = t->name;
	return gql_ptr(r, "__Type");
}

static bool include_deprecated(const struct gql_resolve_info *info)
{
	const struct gql_value *v = gql_arg(info, "includeDeprecated");
	return v && v->kind == GQL_V_BOOL && v->u.b;
}

static int schema_root(const struct gql_resolve_info *info, const struct gql_value *parent,
		       struct gql_value *out)
{
	(void)parent;
	*out = gql_ptr((void *)gql__exec_schema(info->exec), "__Schema");
	return 0;
}

static int type_root(const struct gql_resolve_info *info, const struct gql_value *parent,
		     struct gql_value *out)
{
	(void)parent;
	const char *name = gql_arg_str(info, "name");
	*out = type_value(info->exec,
			  name ? gql__find_type(gql__exec_schema(info->exec), name) : NULL);
	return 0;
}

static int schema_field(const struct gql_resolve_info *info, const struct gql_value *parent,
			struct gql_value *out)
{
	const struct gql_schema *s = parent->u.ptr;
	const char *f = info->field_name;
	struct gql_exec *x = info->exec;
	if (!strcmp(f, "description")) {
		*out = gql_string(s->desc);
	} else if (!strcmp(f, "types")) {
		*out = gql_list_new(x, s->n_types);
		for (size_t i = 0; i < s->n_types; i++)
			out->u.list.items[i] = type_value(x, s->types[i]);
	} else if (!strcmp(f, "queryType")) {
		*out = type_value(x, s->query);
	} else if (!strcmp(f, "mutationType")) {
		*out = type_value(x, s->mutation);
	} else if (!strcmp(f, "subscriptionType")) {
		*out = type_value(x, s->subscription);
	} else if (!strcmp(f, "directives")) {
		*out = gql_list_new(x, s->n_dirs);
		for (size_t i = 0; i < s->n_dirs; i++)
			out->u.list.items[i] = gql_ptr(s->dirs[i], "__Directive");
	}
	return 0;
}

static const char *const kind_names[] = {
	[GQL_SCALAR] = "SCALAR", [GQL_OBJECT] = "OBJECT", [GQL_INTERFACE] = "INTERFACE",
	[GQL_UNION] = "UNION",   [GQL_ENUM] = "ENUM",     [GQL_INPUT_OBJECT] = "INPUT_OBJECT",
};

static struct gql_value input_list(struct gql_exec *x, struct gql_input_def *a, size_t n,
				   bool with_deprecated)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += with_deprecated || !a[i].deprecated;
	struct gql_value v = gql_list_new(x, k);
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (with_deprecated || !a[i].deprecated)
			v.u.list.items[k++] = gql_ptr(&a[i], "__InputValue");
	return v;
}

static int type_field(const struct gql_resolve_info *info, const struct gql_value *parent,
		      struct gql_value *out)
{
	const struct tref *r = parent->u.ptr;
	const struct gql_type *t = r->kind == TR_NAMED ? r->type : NULL;
	const char *f = info->field_name;
	struct gql_exec *x = info->exec;
	*out = gql_null();
	if (!strcmp(f, "kind")) {
		*out = gql_enum(r->kind == TR_LIST      ? "LIST"
				: r->kind == TR_NONNULL ? "NON_NULL"
							: kind_names[t->kind]);
	} else if (!strcmp(f, "ofType")) {
		if (r->kind != TR_NAMED)
			*out = gql_ptr(r->of, "__Type");
	} else if (!t) {
		return 0; /* the rest is null on wrapper types */
	} else if (!strcmp(f, "name")) {
		*out = gql_string(t->name);
	} else if (!strcmp(f, "description")) {
		*out = gql_string(t->desc);
	} else if (!strcmp(f, "specifiedByURL")) {
		*out = gql_string(t->specified_by);
	} else if (!strcmp(f, "fields")) {
		if (t->kind != GQL_OBJECT && t->kind != GQL_INTERFACE)
			return 0;
		bool dep = include_deprecated(info);
		size_t k = 0;
		for (size_t i = 0; i < t->n_fields; i++)
			k += dep || !t->fields[i].deprecated;
		*out = gql_list_new(x, k);
		k = 0;
		for (size_t i = 0; i < t->n_fields; i++)
			if (dep || !t->fields[i].deprecated)
				out->u.list.items[k++] = gql_ptr(&t->fields[i], "__Field");
	} else if (!strcmp(f, "interfaces")) {
		if (t->kind != GQL_OBJECT && t->kind != GQL_INTERFACE)
			return 0;
		*out = gql_list_new(x, t->n_interfaces);
		for (size_t i = 0; i < t->n_interfaces; i++)
			out->u.list.items[i] = type_value(x, t->interfaces[i]);
	} else if (!strcmp(f, "possibleTypes")) {
		if (t->kind != GQL_INTERFACE && t->kind != GQL_UNION)
			return 0;
		*out = gql_list_new(x, t->n_possible);
		for (size_t i = 0; i < t->n_possible; i++)
			out->u.list.items[i] = type_value(x, t->possible[i]);
	} else if (!strcmp(f, "enumValues")) {
		if (t->kind != GQL_ENUM)
			return 0;
		bool dep = include_deprecated(info);
		size_t k = 0;
		for (size_t i = 0; i < t->n_values; i++)
			k += dep || !t->values[i].deprecated;
		*out = gql_list_new(x, k);
		k = 0;
		for (size_t i = 0; i < t->n_values; i++)
			if (dep || !t->values[i].deprecated)
				out->u.list.items[k++] = gql_ptr(&t->values[i], "__EnumValue");
	} else if (!strcmp(f, "inputFields")) {
		if (t->kind == GQL_INPUT_OBJECT)
			*out = input_list(x, t->inputs, t->n_inputs, include_deprecated(info));
	}
	return 0;
}

static int field_field(const struct gql_resolve_info *info, const struct gql_value *parent,
		       struct gql_value *out)
{
	struct gql_field_def *fd = parent->u.ptr;
	const char *f = info->field_name;
	*out = gql_null();
	if (!strcmp(f, "name"))
		*out = gql_string(fd->name);
	else if (!strcmp(f, "description"))
		*out = gql_string(fd->desc);
	else if (!strcmp(f, "args"))
		*out = input_list(info->exec, fd->args, fd->n_args, include_deprecated(info));
	else if (!strcmp(f, "type"))
		*out = gql_ptr(fd->type, "__Type");
	else if (!strcmp(f, "isDeprecated"))
		*out = gql_bool(fd->deprecated);
	else if (!strcmp(f, "deprecationReason"))
		*out = gql_string(fd->deprecated ? fd->reason : NULL);
	return 0;
}

static int input_field(const struct gql_resolve_info *info, const struct gql_value *parent,
		       struct gql_value *out)
{
	struct gql_input_def *iv = parent->u.ptr;
	const char *f = info->field_name;
	*out = gql_null();
	if (!strcmp(f, "name"))
		*out = gql_string(iv->name);
	else if (!strcmp(f, "description"))
		*out = gql_string(iv->desc);
	else if (!strcmp(f, "type"))
		*out = gql_ptr(iv->type, "__Type");
	else if (!strcmp(f, "defaultValue"))
		*out = gql_string(iv->defval_text);
	else if (!strcmp(f, "isDeprecated"))
		*out = gql_bool(iv->deprecated);
	else if (!strcmp(f, "deprecationReason"))
		*out = gql_string(iv->deprecated ? iv->reason : NULL);
	return 0;
}

static int enum_field(const struct gql_resolve_info *info, const struct gql_value *parent,
		      struct gql_value *out)
{
	struct gql_enum_def *ev = parent->u.ptr;
	const char *f = info->field_name;
	*out = gql_null();
	if (!strcmp(f, "name"))
		*out = gql_string(ev->name);
	else if (!strcmp(f, "description"))
		*out = gql_string(ev->desc);
	else if (!strcmp(f, "isDeprecated"))
		*out = gql_bool(ev->deprecated);
	else if (!strcmp(f, "deprecationReason"))
		*out = gql_string(ev->deprecated ? ev->reason : NULL);
	return 0;
}

static int directive_field(const struct gql_resolve_info *info, const struct gql_value *parent,
			   struct gql_value *out)
{
	struct gql_dir_def *d = parent->u.ptr;
	const char *f = info->field_name;
	*out = gql_null();
	if (!strcmp(f, "name")) {
		*out = gql_string(d->name);
	} else if (!strcmp(f, "description")) {
		*out = gql_string(d->desc);
	} else if (!strcmp(f, "isRepeatable")) {
		*out = gql_bool(d->repeatable);
	} else if (!strcmp(f, "args")) {
		*out = input_list(info->exec, d->args, d->n_args, include_deprecated(info));
	} else if (!strcmp(f, "locations")) {
		*out = gql_list_new(info->exec, (size_t)d->n_order);
		for (int i = 0; i < d->n_order; i++)
			out->u.list.items[i] = gql_enum(gql__dir_loc_names[d->order[i]]);
	}
	return 0;
}

void gql__bind_introspection(struct gql_schema *s)
{
	static const struct {
		const char *type;
		gql_resolve_fn fn;
	} tab[] = {
		{"__Schema", schema_field},  {"__Type", type_field},
		{"__Field", field_field},    {"__InputValue", input_field},
		{"__EnumValue", enum_field}, {"__Directive", directive_field},
	};
	for (size_t i = 0; i < JS_ARRAY_LEN(tab); i++) {
		struct gql_type *t = gql__find_type(s, tab[i].type);
		for (size_t j = 0; t && j < t->n_fields; j++)
			t->fields[j].resolve = tab[i].fn;
	}
	s->schema_field.resolve = schema_root;
	s->type_field.resolve = type_root;
}
